"""What the same-day notice sweeps read and write: open absences, who was told, the
guard's questions and answers, the mentors' calls home and what their prompts were about."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from storage.attendance import NOTICE_DIALOG
from storage.db import chunks
from storage.models import (
    Absence,
    ConversationState,
    MentorLink,
    OutboxMessage,
    Person,
    RollCall,
    School,
    SchoolClass,
    StaffRole,
    StaffTask,
    Student,
)
from storage.outbox import MessageKind
from storage.tasks import CALL_PREFIX

#: Statuses of a message that is on its way or out (the recipient may have it).
OUT = ("sending", "sent", "delivered")
#: Statuses of a call task still to be made.
OPEN = ("open", "snoozed")
#: Who answers the guard's question at a school (the mentors, when it has none).
GUARD_ROLES = ("coordinator", "principal")


def open_absences(session: Session, school_id: int, first: date,
                  last: date) -> list[tuple[Absence, Student]]:
    """The school's open absences from `first` to `last`, each with its student, locked until
    the decision commits (PostgreSQL): a correction or a report committed meanwhile waits,
    then wins; one committed before is seen (the row is no longer open)."""
    return [(absence, student) for absence, student in session.execute(
        select(Absence, Student)
        .join(Student, col(Student.id) == Absence.student_id)
        .where(Student.school_id == school_id, Absence.state == "open",
               col(Absence.day) <= last, col(Absence.day) >= first)
        .order_by(col(Absence.day), col(Absence.student_id), col(Absence.slot))
        .with_for_update(of=Absence)
    ).all()]


def notified_students(session: Session, school_id: int, day: date) -> dict[int, int]:
    """The students whose guardians were told of an absence on `day`, with their classes."""
    return {int(student): int(klass) for student, klass in session.execute(
        select(Student.id, Student.class_id).join(Absence, col(Absence.student_id) == Student.id)
        .where(Student.school_id == school_id, Absence.day == day,
               col(Absence.notified_at).is_not(None)).distinct()
    ).all()}


def class_sizes(session: Session, school_id: int) -> dict[int, int]:
    """How many students each class of the school has."""
    return {int(klass): int(count) for klass, count in session.execute(
        select(Student.class_id, func.count()).where(Student.school_id == school_id)
        .group_by(col(Student.class_id))
    ).all()}


def school_leads(session: Session, school_id: int) -> list[Person]:
    """The school's coordinators and principals (who answer the guard's question)."""
    return list(session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == school_id, col(StaffRole.role).in_(GUARD_ROLES))
        .order_by(col(StaffRole.role), col(Person.id))
    ).scalars().unique().all())


def guard_key(scope: str, day: date, person_id: int | None) -> str:
    """The guard question's task (and message) key for one person."""
    return f"mass-guard:{scope}:{day.isoformat()}:{person_id}"


def guard_answers(session: Session, scope: str, day: date) -> list[str]:
    """The answers staff gave to the guard's question about `scope` on `day`."""
    return [outcome for outcome in session.execute(
        select(StaffTask.outcome).where(
            col(StaffTask.dedupe_key).like(f"mass-guard:{scope}:{day.isoformat()}:%"),
            StaffTask.status == "done")
    ).scalars().all() if outcome]


def scope_label(session: Session, scope: str) -> str:
    """A guard scope's name: its class's, or its school's."""
    kind, _, ident = scope.partition(":")
    if kind == "class":
        klass = session.get(SchoolClass, int(ident))
        return klass.name if klass else ident
    school = session.get(School, int(ident))
    return school.name if school else ident


def student_names(session: Session, students: Iterable[Student]) -> dict[int, tuple[str, str]]:
    """Each student's first name (for guardians) and "Name (class)" (for staff; a protected
    student is "#id")."""
    found: dict[int, tuple[str, str]] = {}
    for part in chunks([s.id for s in students]):
        for student_id, name, klass, protected, external_id in session.execute(
            select_columns(col(Student.id), col(Person.name), col(SchoolClass.name),
                           col(Student.protected), col(Student.external_id))
            .join(Person, col(Person.id) == Student.person_id)
            .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
            .where(col(Student.id).in_(part))
        ).all():
            found[int(student_id)] = (name.split()[0] if name else "",
                                      f"#{external_id}" if protected else f"{name} ({klass})")
    return found


def await_notice_answers(session: Session, asked: dict[int, dict[str, Any]],
                         now: datetime) -> None:
    """The guardians' next words answer the notice (or notices: siblings), unless they are
    in another dialog; an older notice's question is replaced. `asked`: per person, the
    dialog's data (`{"students": [...], "day": ISO}`)."""
    existing = {state.person_id: state for state in session.execute(
        select(ConversationState).where(
            col(ConversationState.person_id).in_(list(asked)))).scalars()}
    for person_id, data in asked.items():
        state = existing.get(person_id)
        if state is None:
            session.add(ConversationState(person_id=person_id, dialog=NOTICE_DIALOG,
                                          step="answer", data=data, updated_at=now))
        elif state.dialog == NOTICE_DIALOG:
            if state.data.get("day") == data["day"]:  # a later lesson, another child
                data = {**data, "students": sorted(
                    {*state.data.get("students", []), *data["students"]})}
            state.data, state.updated_at = data, now


def notified_today(session: Session, school_id: int, day: date) -> list[tuple[Absence, Student]]:
    """The school's absences on `day` whose guardians were told, with their students."""
    return [(absence, student) for absence, student in session.execute(
        select(Absence, Student).join(Student, col(Student.id) == Absence.student_id)
        .where(Student.school_id == school_id, Absence.day == day,
               col(Absence.notified_at).is_not(None))
        .order_by(col(Absence.student_id))
    ).all()]


def still_absent(session: Session, student_id: int, day: date) -> bool:
    """Whether the student is still absent on `day` without an excuse (open or unexcused)."""
    return session.execute(
        select(Absence.id).where(Absence.student_id == student_id, Absence.day == day,
                                 Absence.kind == "absent",
                                 col(Absence.state).in_(["open", "unexcused"]))
    ).first() is not None


def reported(session: Session, student_id: int, day: date) -> bool:
    """Whether a report excused an absence of the student on `day`."""
    return session.execute(select(Absence.id).where(
        Absence.student_id == student_id, Absence.day == day,
        Absence.state == "reported")).first() is not None


def call_days(session: Session, task_ids: Iterable[int]) -> dict[int, date]:
    """The absence day each call home is about, read from its prompt."""
    found: dict[int, date] = {}
    for part in chunks(list(task_ids)):
        for task_id, day in session.execute(
            select(col(OutboxMessage.task_id), col(OutboxMessage.day)).where(
                col(OutboxMessage.task_id).in_(part),
                OutboxMessage.kind == MessageKind.CALL_PROMPT.value,
                col(OutboxMessage.day).is_not(None)).distinct()
        ).all():
            found[int(task_id)] = day
    return found


def calls_of(session: Session, school_id: int, students: list[int],
             due_since: datetime) -> list[tuple[int, date, datetime]]:
    """The roll call's calls home for these students due since `due_since`: per call, its
    student, the absence day it is about, and when it was made."""
    found: list[tuple[int, date, datetime]] = []
    for part in chunks(students):
        found += [(int(student), day, created) for student, day, created in session.execute(
            select(StaffTask.student_id, col(OutboxMessage.day), StaffTask.created_at)
            .join(OutboxMessage, col(OutboxMessage.task_id) == StaffTask.id)
            .where(StaffTask.school_id == school_id, col(StaffTask.student_id).in_(part),
                   col(StaffTask.dedupe_key).startswith(CALL_PREFIX),
                   col(StaffTask.due_at) >= due_since,
                   OutboxMessage.kind == MessageKind.CALL_PROMPT.value,
                   col(OutboxMessage.day).is_not(None))
            .distinct()).all()]
    return found


def open_calls(session: Session, *, school_id: int | None = None, student_id: int | None = None,
               day: date | None = None) -> list[tuple[StaffTask, date]]:
    """Calls home still to be made (open or snoozed), each with the day it is about: the
    school's, or one student's (on one day)."""
    query = (select(StaffTask, col(OutboxMessage.day))
             .join(OutboxMessage, col(OutboxMessage.task_id) == StaffTask.id)
             .where(col(StaffTask.dedupe_key).startswith(CALL_PREFIX),
                    col(StaffTask.status).in_(OPEN),
                    OutboxMessage.kind == MessageKind.CALL_PROMPT.value,
                    col(OutboxMessage.day).is_not(None))
             .distinct().order_by(col(StaffTask.id)))
    if school_id is not None:
        query = query.where(StaffTask.school_id == school_id)
    if student_id is not None:
        query = query.where(StaffTask.student_id == student_id)
    if day is not None:
        query = query.where(OutboxMessage.day == day)
    return [(task, found) for task, found in session.execute(query).all()]


def snoozed_calls_due(session: Session, now: datetime) -> list[StaffTask]:
    """Calls home snoozed until `now` or earlier."""
    return list(session.execute(
        select(StaffTask).where(StaffTask.kind == "call_home", StaffTask.status == "snoozed",
                                col(StaffTask.dedupe_key).startswith(CALL_PREFIX),
                                col(StaffTask.remind_at) <= now)
        .order_by(col(StaffTask.id))
    ).scalars().all())


def told_guardians(session: Session, student_id: int, day: date) -> list[Person]:
    """Who a notice about the student's absence on `day` went out to (or is going out to)."""
    return list(session.execute(
        select(Person).join(OutboxMessage, col(OutboxMessage.recipient_id) == Person.id)
        .where(OutboxMessage.kind == MessageKind.NOTICE.value,
               OutboxMessage.student_id == student_id, OutboxMessage.day == day,
               col(OutboxMessage.status).in_(OUT))
        .distinct().order_by(col(Person.id))
    ).scalars().all())


def call_prompts(session: Session, task: StaffTask) -> list[tuple[int, str | None]]:
    """The prompts about a call that reached (or may have reached) its mentor: id and the
    provider's reference of each (to close their buttons)."""
    return [(int(ident), ref) for ident, ref in session.execute(
        select(OutboxMessage.id, OutboxMessage.provider_ref).where(
            OutboxMessage.recipient_id == task.assignee_id,
            OutboxMessage.task_id == task.id,
            OutboxMessage.kind == MessageKind.CALL_PROMPT.value,
            col(OutboxMessage.status).in_([*OUT, "maybe_sent"]))
        .order_by(col(OutboxMessage.id))
    ).all()]


def roll_call_classes(session: Session, school_id: int,
                      today: date) -> tuple[list[SchoolClass], set[int]] | None:
    """The school's classes and those with a roll call today, if the school takes roll call
    class by class with Närvaro (in the chat, or by the API naming classes) in the last two
    weeks; None otherwise (a file that lists only the absent cannot say a class was all
    there)."""
    classes = list(session.execute(
        select(SchoolClass).where(SchoolClass.school_id == school_id)
        .order_by(col(SchoolClass.id))).scalars().all())
    taken = session.execute(
        select_columns(col(RollCall.class_id), col(RollCall.day), col(RollCall.source)).where(
            col(RollCall.class_id).in_([c.id for c in classes]),
            col(RollCall.day) >= today - timedelta(days=14))
    ).all()
    if not any(source in ("roll", "api") for _, _, source in taken):
        return None
    return classes, {int(class_id) for class_id, day, _ in taken if day == today}


def class_mentors(session: Session, class_id: int) -> list[Person]:
    """The mentors of a class's students."""
    return list(session.execute(
        select(Person).join(MentorLink, col(MentorLink.mentor_id) == Person.id)
        .join(Student, col(Student.id) == MentorLink.student_id)
        .where(Student.class_id == class_id).distinct().order_by(col(Person.id))
    ).scalars())
