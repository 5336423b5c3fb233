"""Queries about people: who they are to the school, and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from typing import Any

from sqlalchemy import bindparam, case, exists, false, func, true
from sqlmodel import Session, col, select

from policy.routing import Reachability
from storage.conversations import note_state
from storage.db import chunks, table_of
from storage.models import (
    ConversationState,
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    Student,
)


class Roles:
    """What a person is at the schools: guardian of some students, a student, staff.

    Staff roles are looked up only when asked for: most messages come from
    guardians in a dialog, who never need them.
    """

    def __init__(
        self, session: Session, person_id: int, children: list[tuple[Student, Person]],
        student: Student | None,
    ) -> None:
        """Roles of `person_id`, with the children and own student record already found."""
        self._session = session
        self._person_id = person_id
        self.children = children
        self.student = student

    @cached_property
    def staff(self) -> list[tuple[School, str]]:
        """The schools where the person works, with the role at each."""
        return list(
            self._session.execute(
                select(School, StaffRole.role)
                .join(StaffRole, col(StaffRole.school_id) == School.id)
                .where(StaffRole.person_id == self._person_id)
            )
        )


def students_with_persons(session: Session, ids: list[int]) -> dict[int, tuple[Student, Person]]:
    """Each of the students `ids` with their person (name, language, contact), by id."""
    found: dict[int, tuple[Student, Person]] = {}
    for part in chunks(ids):
        for student, child in session.execute(
            select(Student, Person).join(Person, col(Person.id) == Student.person_id)
            .where(col(Student.id).in_(part))
        ).all():
            found[student.id or 0] = (student, child)
    return found


# The queries every message runs are built once: building a query and its cache key costs
# about as much as running it.
@cache
def _children_query() -> Any:
    return (select(Student, Person)
            .join(Guardianship, col(Guardianship.student_id) == Student.id)
            .join(Person, col(Person.id) == Student.person_id)
            .where(Guardianship.guardian_id == bindparam("person"))
            .order_by(Person.name))


@cache
def _own_student_query() -> Any:
    return select(Student).where(Student.person_id == bindparam("person"))


@cache
def _by_chat_query() -> Any:
    # With the person's dialog: every message needs it next (one statement, not two).
    return (select(Person, ConversationState)
            .outerjoin(ConversationState, col(ConversationState.person_id) == Person.id)
            .where(Person.telegram_chat_id == bindparam("chat")))


@cache
def _names_query() -> Any:
    person, student = table_of(Person), table_of(Student)
    return (select(person.c.name).join(student, student.c.person_id == person.c.id)
            .where(student.c.school_id == bindparam("school")))


#: PostgreSQL's transaction-local setting that says this transaction has changed names
#: (migration 0020 sets it): their new revision comes only when it commits.
ROSTER_CHANGED_HERE = "narvaro.roster_changed"


@cache
def _revisions_query(dialect: str) -> Any:
    school = table_of(School)
    changed_here = (func.current_setting(ROSTER_CHANGED_HERE, True) == "yes"
                    if dialect == "postgresql" else false())
    return (select(school.c.id, school.c.revision, changed_here)
            .where(school.c.id.in_(bindparam("schools", expanding=True)))
            .order_by(school.c.id))


#: Each school's student names as last read, by database and school: (revision, names).
#: The database sets a new revision whenever the names change (migration 0020), so a
#: message reads one number instead of every name at the school.
_NAMES: dict[tuple[Any, int], tuple[int, tuple[str, ...]]] = {}


def person_by_chat(session: Session, chat_id: int) -> Person | None:
    """The person whose linked chat this is, if any (their dialog is read with them)."""
    found = session.execute(_by_chat_query(), {"chat": chat_id}).one_or_none()
    if found is None:
        return None
    person, state = found
    note_state(session, person.id or 0, state)
    return person


def roles_of(session: Session, person: Person) -> Roles:
    """Every role `person` holds."""
    children = [(student, child) for student, child
                in session.execute(_children_query(), {"person": person.id})]
    student = session.execute(_own_student_query(),
                              {"person": person.id}).scalar_one_or_none()
    return Roles(session, person.id or 0, children, student)


def staff_member(session: Session, phone: str, school_id: int) -> Person | None:
    """The staff member of the school with this phone number, if any."""
    return session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(Person.phone == phone, StaffRole.school_id == school_id)).scalars().first()


def school_of(session: Session, person: Person) -> School | None:
    """The school a person mostly deals with (their own, their child's or their staff school);
    None when it is a student's with protected identity (their school is never named)."""
    roles = roles_of(session, person)
    if any(s.protected for s in [roles.student, *(c for c, _p in roles.children)] if s):
        return None
    student = roles.student or (roles.children[0][0] if roles.children else None)
    if student is not None:
        return session.get(School, student.school_id)
    return roles.staff[0][0] if roles.staff else None


@dataclass
class Listing:
    """A person as shown in the web chat's roster picker."""

    person_id: int
    name: str
    language: str
    staff: list[tuple[str, str]]
    children: list[str]
    student_class: str | None
    #: The class of each of `children`, in the same order.
    child_classes: list[str] = field(default_factory=list)


def _people_matching(query: str) -> Any:
    """The condition on a person's name for a search (everyone when empty)."""
    return col(Person.name).ilike(f"%{query}%") if query else true()


def search_people(session: Session, query: str = "", limit: int = 50) -> list[Listing]:
    """People whose name matches `query` (all when empty), each with what they are: staff
    first, then guardians by their child's class, then students by class, then anyone else."""
    child_class = (
        select(func.min(SchoolClass.name)).select_from(Guardianship)
        .join(Student, col(Student.id) == Guardianship.student_id)
        .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
        .where(Guardianship.guardian_id == Person.id).correlate(Person).scalar_subquery()
    )
    own_class = (
        select(SchoolClass.name).select_from(Student)
        .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
        .where(Student.person_id == Person.id).correlate(Person).scalar_subquery()
    )
    is_staff = exists().where(col(StaffRole.person_id) == Person.id)
    group = case((is_staff, 0), (child_class.is_not(None), 1), (own_class.is_not(None), 2),
                 else_=3)
    statement = (select(Person).where(_people_matching(query))
                 .order_by(group, func.coalesce(child_class, own_class, ""), Person.name)
                 .limit(limit))
    listings = []
    for person in session.execute(statement).scalars():
        roles = roles_of(session, person)
        student_class = None
        if roles.student is not None:
            school_class = session.get(SchoolClass, roles.student.class_id)
            student_class = school_class.name if school_class else ""
        classes = {c.id: c.name for c in session.execute(select(SchoolClass).where(
            col(SchoolClass.id).in_([student.class_id for student, _child in roles.children])
        )).scalars()}
        assert person.id is not None
        listings.append(
            Listing(
                person.id, person.name, person.language,
                [(school.name, role) for school, role in roles.staff],
                [child.name for _student, child in roles.children], student_class,
                [classes.get(student.class_id, "") for student, _child in roles.children],
            )
        )
    return listings


def count_people(session: Session, query: str = "") -> int:
    """How many people `search_people` would find with no limit."""
    return int(session.execute(
        select(func.count()).select_from(Person).where(_people_matching(query))).scalar_one())


def reachability(person: Person) -> Reachability:
    """What routing needs to know about reaching `person`."""
    return Reachability(
        telegram_linked=person.telegram_chat_id is not None,
        telegram_blocked=person.telegram_blocked_at is not None,
        has_phone=bool(person.phone) and person.sms_unreachable_at is None,
        sms_opted_out=person.sms_opted_out_at is not None,
    )


def mark_unreachable(session: Session, person_id: int, *, channel: str, now: datetime) -> None:
    """Record that `channel` cannot reach the person (blocked the bot, number unreachable)."""
    person = session.get(Person, person_id)
    if person is None:
        return
    if channel == "telegram":
        person.telegram_blocked_at = now
    elif channel == "sms":
        person.sms_unreachable_at = now
    session.add(person)


def mark_reachable(session: Session, person: Person) -> None:
    """Forget that texts could not reach the person (they texted us, or one was delivered)."""
    person.sms_unreachable_at = None
    session.add(person)


def set_sms_opt_out(session: Session, person: Person, *, opted_out: bool, now: datetime) -> None:
    """Record STOP (no more SMS but answers to what they write) or START again."""
    person.sms_opted_out_at = now if opted_out else None
    if not opted_out:
        person.sms_unreachable_at = None  # they can evidently be reached
    person.updated_at = now
    session.add(person)


def student_names_at(session: Session, school_ids: list[int]) -> tuple[str, ...]:
    """The names of the students at these schools (to tell a child named in a message
    from the writer's own; never shown to anyone)."""
    if not school_ids:
        return ()
    engine = session.get_bind().engine
    names: tuple[str, ...] = ()
    for school_id, revision, changed_here in session.execute(
            _revisions_query(engine.dialect.name), {"schools": school_ids}):
        kept = _NAMES.get((engine.url, school_id))
        if changed_here or kept is None or kept[0] != revision:
            kept = revision, tuple(
                session.execute(_names_query(), {"school": school_id}).scalars())
            if not changed_here:  # names not committed, perhaps never, are not kept
                _NAMES[engine.url, school_id] = kept
        names += kept[1]
    return names
