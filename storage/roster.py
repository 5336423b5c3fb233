"""Applying a validated roster: idempotent bulk upserts in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, tuple_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from policy.presets import PolicyPreset
from policy.roster import Roster, StudentRecord
from storage.db import refresh_statistics
from storage.models import (
    AuditLog,
    ConversationState,
    Guardianship,
    MentorLink,
    Person,
    School,
    SchoolClass,
    StaffRole,
    Student,
)
from storage.schools import ensure_school
from storage.web_sessions import end_sessions_of

CHUNK = 500
Progress = Callable[[str, int, int], None]
T = TypeVar("T")


@dataclass
class ImportCounts:
    """What an import changed, for the command's summary and the audit log."""

    counts: dict[str, int] = field(default_factory=dict)

    def bump(self, name: str, by: int = 1) -> None:
        """Add `by` to the counter `name`."""
        self.counts[name] = self.counts.get(name, 0) + by


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _no_progress(phase: str, done: int, total: int) -> None:
    """Ignore progress."""


def staff_phones(session: Session, school: str) -> set[str]:
    """Phones of everyone with a staff role at `school` (for validating mentors)."""
    rows = session.exec(
        select(Person.phone)
        .join(StaffRole, col(StaffRole.person_id) == Person.id)
        .join(School, col(School.id) == StaffRole.school_id)
        .where(School.name == school)
    )
    return {phone for phone in rows if phone}


def _upsert_people(
    session: Session, wanted: dict[str, tuple[str, str | None]], defaults: dict[str, str],
    now: datetime, counts: ImportCounts, progress: Progress, renamed: set[int],
) -> dict[str, int]:
    """Insert or update people by phone; returns phone → person id, and adds those whose
    name changed (perhaps the number is someone else's now) to `renamed`. A language of
    None keeps the person's own (a new person gets `defaults[phone]`)."""
    phones = list(wanted)
    ids: dict[str, int] = {}
    changed: list[dict[str, Any]] = []
    for number, part1 in enumerate(_chunks(phones)):
        rows = session.execute(
            select(Person.id, Person.phone, Person.name, Person.language).where(
                col(Person.phone).in_(part1)
            )
        )
        for person_id, phone, name, language in rows:
            ids[phone] = person_id
            new_name, new_language = wanted[phone]
            new_language = new_language or language
            if (name, language) != (new_name, new_language):
                if new_name != name:
                    renamed.add(person_id)
                changed.append(
                    {"id": person_id, "name": new_name, "language": new_language,
                     "updated_at": now}
                )
        progress("people", min((number + 1) * CHUNK, len(phones)), len(phones))
    if changed:
        session.execute(update(Person), changed)
    counts.bump("people changed", len(changed))
    new = [
        {"phone": phone, "name": name, "language": language or defaults[phone],
         "created_at": now, "updated_at": now}
        for phone, (name, language) in wanted.items()
        if phone not in ids
    ]
    for part2 in _chunks(new):
        result = session.execute(
            insert(Person).returning(col(Person.id), col(Person.phone),
                                     sort_by_parameter_order=True),
            list(part2),
        )
        ids.update({phone: person_id for person_id, phone in result})
    counts.bump("people new", len(new))
    return ids


def _sync_links(
    session: Session, table: type[Guardianship] | type[MentorLink], column: str,
    wanted: dict[int, set[int]], counts: ImportCounts, label: str,
) -> set[int]:
    """Make each student's links equal `wanted` (only for the students given); returns the
    people who lost a link."""
    student_ids = list(wanted)
    existing: set[tuple[int, int]] = set()
    other = getattr(table, column)
    for part3 in _chunks(student_ids):
        existing.update(
            session.execute(
                select(table.student_id, other).where(
                    col(table.student_id).in_(part3)
                )
            )
        )
    target = {(student, person) for student, people in wanted.items() for person in people}
    stale = sorted(existing - target)
    for part4 in _chunks(stale):
        session.execute(
            delete(table).where(tuple_(table.student_id, other).in_(part4))
        )
    new = [
        {"student_id": student, column: person} for student, person in sorted(target - existing)
    ]
    for part5 in _chunks(new):
        session.execute(insert(table), list(part5))
    counts.bump(f"{label} added", len(new))
    counts.bump(f"{label} removed", len(stale))
    return {person for _student, person in stale}


def apply_roster(
    session: Session, roster: Roster, *, now: datetime, default_policy: PolicyPreset,
    timezone: str, progress: Progress = _no_progress, actor: str = "cli",
    keep_languages: bool = False,
) -> ImportCounts:
    """Upsert every school, class, person, student, link and staff role of `roster`.

    Students not in the roster are left alone; for each student in it, guardians
    and mentors become exactly those the roster gives. At each school of the staff file,
    staff roles become exactly those it gives (a mentor who left loses their mentees).
    Anyone left with no role at all loses their chat links at once: a number that moved
    to someone else, or a person who left, gets nothing more. With `keep_languages`, a
    person the roster gives no language keeps the one they have (a school system that
    knows no languages must not undo what the school or the person set).
    """
    counts = ImportCounts()
    schools = {
        name: ensure_school(session, name, policy=default_policy, timezone=timezone, now=now)
        for name in sorted(roster.schools)
    }
    school_ids = {name: school.id for name, school in schools.items() if school.id is not None}

    classes = {
        (school_id, name): class_id
        for class_id, school_id, name in session.execute(
            select(SchoolClass.id, SchoolClass.school_id, SchoolClass.name).where(
                col(SchoolClass.school_id).in_(school_ids.values())
            )
        )
    }
    for record in roster.students.values():
        key = (school_ids[record.school], record.class_name)
        if key not in classes:
            row = SchoolClass(school_id=key[0], name=key[1])
            session.add(row)
            session.flush()
            assert row.id is not None
            classes[key] = row.id
            counts.bump("classes new")

    wanted: dict[str, tuple[str, str | None]] = {}
    defaults: dict[str, str] = {}

    def language_of(given: str | None, school: str) -> str | None:
        return given or (None if keep_languages else schools[school].language)

    for member in roster.staff:
        wanted[member.phone] = (member.name, language_of(member.language, member.school))
        defaults[member.phone] = schools[member.school].language
    for record in roster.students.values():
        for phone, (name, guardian_language) in record.guardians.items():
            wanted.setdefault(phone, (name, language_of(guardian_language, record.school)))
            defaults.setdefault(phone, schools[record.school].language)
        if record.phone:
            wanted[record.phone] = (record.name, language_of(record.language, record.school))
            defaults[record.phone] = schools[record.school].language
    renamed: set[int] = set()
    people = _upsert_people(session, wanted, defaults, now, counts, progress, renamed)
    # Mentors already on file (a students file imported without the staff file).
    on_file = sorted({phone for record in roster.students.values() for phone in record.mentors}
                     - set(people))
    for part0 in _chunks(on_file):
        people.update((phone, person_id) for person_id, phone in session.execute(
            select(Person.id, Person.phone).where(col(Person.phone).in_(part0))))

    _upsert_students(session, roster, school_ids, classes, people, schools, now, counts, progress,
                     keep_languages=keep_languages)
    student_ids = _student_ids(session, roster, school_ids)

    removed = _sync_links(
        session, Guardianship, "guardian_id",
        {student_ids[key]: {people[phone] for phone in record.guardians}
         for key, record in roster.students.items()},
        counts, "guardian links",
    )
    removed |= _sync_links(
        session, MentorLink, "mentor_id",
        {student_ids[key]: {people[phone] for phone in record.mentors}
         for key, record in roster.students.items()},
        counts, "mentor links",
    )
    _upsert_staff(session, roster, school_ids, people, counts)
    removed |= _remove_staff(session, roster, school_ids, people, counts)
    _cut_chats(session, removed, counts)
    # A web session is for the person and roles it was opened with: anyone who lost a role
    # or a link, or whose number now has another name, signs in again (if still staff).
    if ended := end_sessions_of(session, removed | renamed):
        counts.bump("web sessions ended", ended)
    session.add(
        AuditLog(at=now, actor=actor, action="roster.import", entity="roster",
                 detail=dict(counts.counts))
    )
    # A school's first import: the next one looks its people up by index at once.
    refresh_statistics(session, ("person", "student", "guardianship", "mentor_link"),
                       counts.counts.get("people new", 0) + counts.counts.get("students new", 0))
    return counts


def _student_ids(
    session: Session, roster: Roster, school_ids: dict[str, int]
) -> dict[tuple[str, str], int]:
    by_school: dict[int, list[str]] = {}
    for school, student_id in roster.students:
        by_school.setdefault(school_ids[school], []).append(student_id)
    names = {school_id: name for name, school_id in school_ids.items()}
    found: dict[tuple[str, str], int] = {}
    for school_id, external_ids in by_school.items():
        for part6 in _chunks(external_ids):
            for row_id, external_id in session.execute(
                select(Student.id, Student.external_id).where(
                    Student.school_id == school_id,
                    col(Student.external_id).in_(part6),
                )
            ):
                found[(names[school_id], external_id)] = row_id
    return found


def _upsert_students(
    session: Session, roster: Roster, school_ids: dict[str, int],
    classes: dict[tuple[int, str], int], people: dict[str, int], schools: dict[str, School],
    now: datetime, counts: ImportCounts, progress: Progress, *, keep_languages: bool = False,
) -> None:
    keys = list(roster.students)
    existing = _existing_students(session, keys, school_ids)
    student_people: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    new_records: list[tuple[StudentRecord, int, int | None, str]] = []
    for done, (key, record) in enumerate(roster.students.items(), start=1):
        language = record.language or schools[record.school].language
        class_id = classes[(school_ids[record.school], record.class_name)]
        person_id = people.get(record.phone) if record.phone else None
        if key in existing:
            row_id, old_class, old_person, old_adult, old_protected, old_details = existing[key]
            if keep_languages and not record.language:
                language = old_details[1]
            if person_id is None and old_details != (record.name, language):
                student_people.append(
                    {"id": old_person, "name": record.name, "language": language,
                     "updated_at": now}
                )
            if person_id is None:
                person_id = old_person
            if (old_class, old_person, old_adult, old_protected) != (
                class_id, person_id, record.adult, record.protected
            ):
                changed.append(
                    {"id": row_id, "class_id": class_id, "person_id": person_id,
                     "adult": record.adult, "protected": record.protected}
                )
        else:
            new_records.append((record, class_id, person_id, language))
        if done % 5000 == 0:
            progress("students", done, len(keys))
    for part8 in _chunks(student_people):
        session.execute(update(Person), list(part8))
    for part9 in _chunks(changed):
        session.execute(update(Student), list(part9))
    counts.bump("students changed", len(changed))
    _insert_students(session, new_records, school_ids, now)
    counts.bump("students new", len(new_records))
    progress("students", len(keys), len(keys))


def _existing_students(
    session: Session, keys: list[tuple[str, str]], school_ids: dict[str, int],
) -> dict[tuple[str, str], tuple[int, int, int, bool, bool, tuple[str, str]]]:
    """The students of `keys` (school name, student id) already stored: row id, class,
    person, adult, protected and (name, language) of their person."""
    existing: dict[tuple[str, str], tuple[int, int, int, bool, bool, tuple[str, str]]] = {}
    names = {school_id: name for name, school_id in school_ids.items()}
    for part7 in _chunks(keys):
        for (
            school_id, external_id, row_id, class_id, person_id, adult, protected, name,
            language,
        ) in session.execute(
            select_columns(
                col(Student.school_id), col(Student.external_id), col(Student.id),
                col(Student.class_id), col(Student.person_id), col(Student.adult),
                col(Student.protected), col(Person.name), col(Person.language),
            )
            .join(Person, col(Person.id) == Student.person_id)
            .where(
                tuple_(Student.school_id, Student.external_id).in_(
                    [(school_ids[school], external_id) for school, external_id in part7]
                )
            )
        ):
            existing[(names[school_id], external_id)] = (
                row_id, class_id, person_id, adult, protected, (name, language)
            )
    return existing


def _insert_students(
    session: Session, new_records: list[tuple[StudentRecord, int, int | None, str]],
    school_ids: dict[str, int], now: datetime,
) -> None:
    """Insert new students (record, class, person or None, language); one without a phone of
    their own still is a person (a name and a language), made here."""
    no_phone = [index for index, item in enumerate(new_records) if item[2] is None]
    for part10 in _chunks(no_phone):
        result = session.execute(
            insert(Person).returning(col(Person.id), sort_by_parameter_order=True),
            [{"name": new_records[i][0].name, "language": new_records[i][3], "created_at": now,
              "updated_at": now} for i in part10],
        )
        for index, person_id in zip(part10, result.scalars(), strict=True):
            record, class_id, _none, language = new_records[index]
            new_records[index] = (record, class_id, person_id, language)
    for part11 in _chunks(new_records):
        session.execute(
            insert(Student),
            [{"school_id": school_ids[record.school], "class_id": class_id,
              "external_id": record.student_id, "person_id": person_id, "adult": record.adult,
              "protected": record.protected}
             for record, class_id, person_id, _language in part11],
        )


def _upsert_staff(
    session: Session, roster: Roster, school_ids: dict[str, int], people: dict[str, int],
    counts: ImportCounts,
) -> None:
    wanted = {
        (school_ids[member.school], people[member.phone], member.role) for member in roster.staff
    }
    if not wanted:
        return
    existing = set(
        session.execute(
            select(StaffRole.school_id, StaffRole.person_id, StaffRole.role).where(
                col(StaffRole.school_id).in_({school for school, _p, _r in wanted})
            )
        )
    )
    new = sorted(wanted - existing)
    for part12 in _chunks(new):
        session.execute(
            insert(StaffRole),
            [{"school_id": school, "person_id": person, "role": role}
             for school, person, role in part12],
        )
    counts.bump("staff roles new", len(new))



def _remove_staff(
    session: Session, roster: Roster, school_ids: dict[str, int], people: dict[str, int],
    counts: ImportCounts,
) -> set[int]:
    """Remove the roles at the staff file's schools that it no longer lists, and the mentor
    links of anyone no longer a mentor there; returns the people concerned."""
    schools = {school_ids[member.school] for member in roster.staff}
    if not schools:
        return set()
    wanted = {
        (school_ids[member.school], people[member.phone], member.role) for member in roster.staff
    }
    stale = [
        (role_id, school, person, role) for role_id, school, person, role in session.execute(
            select(StaffRole.id, StaffRole.school_id, StaffRole.person_id, StaffRole.role)
            .where(col(StaffRole.school_id).in_(schools)))
        if (school, person, role) not in wanted
    ]
    for part13 in _chunks([row[0] for row in stale]):
        session.execute(delete(StaffRole).where(col(StaffRole.id).in_(part13)))
    counts.bump("staff roles removed", len(stale))
    gone_mentors = {(school, person) for _id, school, person, role in stale if role == "mentor"}
    for school, person in sorted(gone_mentors):
        result = session.exec(delete(MentorLink).where(
            col(MentorLink.mentor_id) == person,
            col(MentorLink.student_id).in_(select(Student.id).where(Student.school_id == school))))
        counts.bump("mentor links removed", result.rowcount)
    return {person for _id, _school, person, _role in stale}


def detach_students(
    session: Session, student_ids: Sequence[int], *, now: datetime, actor: str,
) -> ImportCounts:
    """Students who left (a school system no longer lists them): they lose their guardians
    and mentors, and anyone left with no role at all loses their chat links, as in an
    import. The students' own rows and history stay."""
    counts = ImportCounts()
    if not student_ids:
        return counts
    wanted: dict[int, set[int]] = {student_id: set() for student_id in student_ids}
    removed = _sync_links(session, Guardianship, "guardian_id", wanted, counts, "guardian links")
    removed |= _sync_links(session, MentorLink, "mentor_id", wanted, counts, "mentor links")
    _cut_chats(session, removed, counts)
    counts.bump("students left", len(student_ids))
    session.add(AuditLog(at=now, actor=actor, action="roster.leave", entity="roster",
                         detail=dict(counts.counts)))
    return counts


def _cut_chats(session: Session, people: set[int], counts: ImportCounts) -> None:
    """Unlink the chats, and drop the dialogs, of those of `people` left with no role."""
    if not people:
        return
    still = set(session.execute(select(Guardianship.guardian_id).where(
        col(Guardianship.guardian_id).in_(people))).scalars())
    still |= set(session.execute(select(StaffRole.person_id).where(
        col(StaffRole.person_id).in_(people))).scalars())
    still |= set(session.execute(select(Student.person_id).where(
        col(Student.person_id).in_(people))).scalars())
    orphans = sorted(people - still)
    for part14 in _chunks(orphans):
        result = session.exec(
            update(Person)
            .where(col(Person.id).in_(part14), col(Person.telegram_chat_id).is_not(None))
            .values(telegram_chat_id=None, telegram_user_id=None))
        counts.bump("chats unlinked", result.rowcount)
        session.execute(delete(ConversationState).where(
            col(ConversationState.person_id).in_(part14)))
