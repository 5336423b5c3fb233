"""Absence reports: saving (merging a second guardian's), cancelling, and what they excuse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from policy.reporting import ReportDays, new_reference, part_overlaps
from storage.audit import audit
from storage.connectors import queue_report, report_changed
from storage.db import chunks, execute_write, insert_new, table_of
from storage.models import (
    Absence,
    AbsenceReport,
    AuditLog,
    Guardianship,
    MentorLink,
    Person,
    Student,
)

#: Absence states a report may turn into "reported".
EXCUSABLE = ("open", "unexcused")


@dataclass(frozen=True)
class SavedReport:
    """The stored report, and whether it merged into one already given (by the other guardian)."""

    report: AbsenceReport
    merged: bool


def _slot(part_start: time | None) -> str:
    return "day" if part_start is None else part_start.strftime("%H:%M")


# What every report runs is built once: building a query and its cache key costs about as
# much as running it.
@cache
def _active_query() -> Any:
    return (select(AbsenceReport)
            .where(AbsenceReport.student_id == bindparam("student"),
                   col(AbsenceReport.cancelled_at).is_(None),
                   AbsenceReport.first_day <= bindparam("last"),
                   AbsenceReport.last_day >= bindparam("first"))
            .order_by(col(AbsenceReport.id)))


@cache
def _insert_report(dialect: str) -> Any:
    # A reference already taken inserts nothing (and returns no id): one statement,
    # where a check before the insert would be two.
    table = table_of(AbsenceReport)
    return insert_new(table, dialect, ["reference"]).returning(table.c.id)


@cache
def _insert_absence() -> Insert:
    # On the table: the new row is read back, if at all, by a query.
    return insert(table_of(Absence))


@cache
def _absences_query() -> Any:
    return select(Absence).where(Absence.student_id == bindparam("student"),
                                 col(Absence.day).in_(bindparam("days", expanding=True)))


def active_reports(
    session: Session, student_id: int, first: date, last: date
) -> list[AbsenceReport]:
    """Reports for `student_id` not cancelled and overlapping `first`..`last`."""
    return list(session.execute(_active_query(), {
        "student": student_id, "first": first, "last": last}).scalars())


def reports_for_day(
    session: Session, student_ids: Iterable[int], day: date
) -> dict[int, list[AbsenceReport]]:
    """Active reports covering `day`, by student (one query for many students)."""
    found: dict[int, list[AbsenceReport]] = {}
    ids = list(student_ids)
    for part in chunks(ids):
        for report in session.execute(
            select(AbsenceReport).where(
                col(AbsenceReport.student_id).in_(part),
                col(AbsenceReport.cancelled_at).is_(None),
                AbsenceReport.first_day <= day, AbsenceReport.last_day >= day,
            ).order_by(col(AbsenceReport.id))
        ).scalars():
            found.setdefault(report.student_id, []).append(report)
    return found


def report_excuses(report: AbsenceReport, absence: Absence) -> bool:
    """Whether this (active) report excuses this roll-call absence."""
    return _excuses(report, absence)


def _covers(report: AbsenceReport, days: ReportDays) -> bool:
    if not (report.first_day <= days.first and days.last <= report.last_day):
        return False
    if report.part_start is None:
        return True
    return (report.part_start, report.part_end) == (days.part_start, days.part_end)


def _excuses(report: AbsenceReport, absence: Absence) -> bool:
    return (
        report.on_time_for(absence.day)
        and report.first_day <= absence.day <= report.last_day
        and part_overlaps(absence.lesson_start, absence.lesson_end, report.part_start,
                          report.part_end)
    )


def save_report(
    session: Session, *, student: Student, reporter: Person, channel: str, days: ReportDays,
    reason: str, note: str | None, now: datetime,
) -> SavedReport:
    """Store a report and mark the absences it excuses as reported.

    A report whose days an earlier active report already covers (the other
    guardian was first) is merged: nothing new is stored and the earlier
    report is returned. Late days are kept on the report but excuse nothing.
    """
    assert student.id is not None and reporter.id is not None and days.problem is None
    _lock_student(session, student.id)
    for existing in active_reports(session, student.id, days.first, days.last):
        if _covers(existing, days):
            audit(session, at=now, actor=f"person:{reporter.id}", action="report.merge",
                  entity="absence_report", entity_id=existing.reference,
                  student_id=student.id)
            return SavedReport(existing, merged=True)
    values: dict[str, Any] = {
        "reference": "", "student_id": student.id,
        "reporter_id": reporter.id, "channel": channel, "reported_at": now,
        "first_day": days.first, "last_day": days.last, "part_start": days.part_start,
        "part_end": days.part_end, "reason": reason, "note": note or None,
        "on_time": days.on_time, "late_days": [day.isoformat() for day in days.late_days],
        "cancelled_at": None,
    }
    report = AbsenceReport(id=_insert_with_new_reference(session, values), **values)
    # Inserted as it is, so it joins the session as a stored row (no flush of its own).
    make_transient_to_detached(report)
    session.add(report)
    queue_report(session, report, now)  # to the school system it came from, if any
    for day in days.on_time_days:
        _excuse_day(session, student.id, day, days.part_start, days.part_end, now)
    audit(session, at=now, actor=f"person:{reporter.id}", action="report.create",
          entity="absence_report", entity_id=report.reference, student_id=student.id,
          days=len(days.school_days), late_days=len(days.late_days), channel=channel)
    return SavedReport(report, merged=False)


def _insert_with_new_reference(session: Session, values: dict[str, Any]) -> int:
    """Insert the report under a reference no other report has (set in `values`); its id."""
    statement = _insert_report(session.get_bind().dialect.name)
    while True:
        values["reference"] = new_reference()
        inserted = execute_write(session, statement, values).scalar()
        if inserted is not None:
            return int(inserted)


def _excuse_day(
    session: Session, student_id: int, day: date, part_start: time | None,
    part_end: time | None, now: datetime,
) -> None:
    absences = _absences(session, student_id, [day])
    matching = [
        absence for absence in absences
        if absence.state != "withdrawn"
        and part_overlaps(absence.lesson_start, absence.lesson_end, part_start, part_end)
    ]
    for absence in matching:
        if absence.state in EXCUSABLE:
            absence.state, absence.updated_at = "reported", now
    if matching:
        return
    slot = _slot(part_start)
    own = next((absence for absence in absences if absence.slot == slot), None)
    if own is None:
        execute_write(session, _insert_absence(), {
            "student_id": student_id, "day": day, "slot": slot, "lesson_start": part_start,
            "lesson_end": part_end, "kind": "absent", "state": "reported", "source": "report",
            "recorded_at": now, "updated_at": now, "minutes_late": None, "notified_at": None,
            "answered_at": None, "answer": None})
    else:  # a roll-call "present" withdrew it earlier; the guardian now says absent
        own.state, own.updated_at = "reported", now


def _absences(session: Session, student_id: int, days: Sequence[date]) -> list[Absence]:
    return list(session.execute(_absences_query(),
                                {"student": student_id, "days": list(days)}).scalars())


def cancel_report(
    session: Session, report: AbsenceReport, *, by: Person, now: datetime, from_day: date
) -> None:
    """Cancel `report` from `from_day` on ("she felt better"); days before stay reported.

    A report that began earlier is shortened to end the day before; one that
    begins on or after `from_day` is cancelled whole. The absences it excused
    from `from_day` on go back to open unless another report covers them;
    absences that exist only because of this report are withdrawn.
    """
    _lock_student(session, report.student_id)
    last = report.last_day
    if report.first_day < from_day:
        report.last_day = from_day - timedelta(days=1)
        action = "report.shorten"
    else:
        report.cancelled_at = now
        action = "report.cancel"
    session.add(report)
    session.flush()
    report_changed(session, report, now)
    others = [
        other for other in active_reports(session, report.student_id, from_day, last)
        if other.id != report.id
    ]
    absences = session.execute(
        select(Absence).where(
            Absence.student_id == report.student_id,
            Absence.day >= max(from_day, report.first_day),
            Absence.day <= last,
            Absence.state == "reported",
        )
    ).scalars()
    for absence in absences:
        covered = report.on_time_for(absence.day) and part_overlaps(
            absence.lesson_start, absence.lesson_end, report.part_start, report.part_end)
        if not covered or any(_excuses(other, absence) for other in others):
            continue
        absence.state = "withdrawn" if absence.source == "report" else "open"
        absence.updated_at = now
    session.add(AuditLog(
        at=now, actor=f"person:{by.id}", action=action, entity="absence_report",
        entity_id=report.reference, detail={"student_id": report.student_id},
        student_id=report.student_id,
    ))


def _lock_student(session: Session, student_id: int) -> None:
    """Serialise report changes for one student (two guardians at once, several workers).

    PostgreSQL locks the student's row until the transaction ends; SQLite
    already allows one writer at a time (the statement would lock nothing there).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Student.id).where(Student.id == student_id).with_for_update())


def excused_by_report(session: Session, absence: Absence) -> bool:
    """Whether an active, on-time report covers this roll-call absence."""
    return any(
        _excuses(report, absence)
        for report in active_reports(session, absence.student_id, absence.day, absence.day)
    )


def upcoming_reports(
    session: Session, student_ids: Iterable[int], today: date, limit: int = 10
) -> list[AbsenceReport]:
    """Active reports for these students that end today or later, soonest first."""
    ids = list(student_ids)
    if not ids:
        return []
    return list(
        session.execute(
            select(AbsenceReport)
            .where(
                col(AbsenceReport.student_id).in_(ids),
                col(AbsenceReport.cancelled_at).is_(None),
                AbsenceReport.last_day >= today,
            )
            .order_by(col(AbsenceReport.first_day), col(AbsenceReport.id))
            .limit(limit)
        ).scalars()
    )


def mentors_of(session: Session, student_id: int) -> list[Person]:
    """The student's mentors (contact teachers)."""
    return list(
        session.execute(
            select(Person)
            .join(MentorLink, col(MentorLink.mentor_id) == Person.id)
            .where(MentorLink.student_id == student_id)
            .order_by(col(Person.id))
        ).scalars()
    )


def mentors_by_student(session: Session, student_ids: Sequence[int]) -> dict[int, list[Person]]:
    """Each student's mentors, for many students at once."""
    found: dict[int, list[Person]] = defaultdict(list)
    for part in chunks(list(student_ids)):
        for student_id, mentor in session.execute(
            select(MentorLink.student_id, Person)
            .join(Person, col(Person.id) == MentorLink.mentor_id)
            .where(col(MentorLink.student_id).in_(part))
            .order_by(col(MentorLink.student_id), col(Person.id))
        ).all():
            found[student_id].append(mentor)
    return found


def recipients_by_student(session: Session,
                          students: Sequence[Student]) -> dict[int, list[Person]]:
    """Who is written to about each student: the guardians, or an adult student themselves."""
    found: dict[int, list[Person]] = defaultdict(list)
    minors = [s.id for s in students if not s.adult]
    for part in chunks(minors):
        for student_id, person in session.execute(
            select(Guardianship.student_id, Person)
            .join(Person, col(Person.id) == Guardianship.guardian_id)
            .where(col(Guardianship.student_id).in_(part))
            .order_by(col(Guardianship.student_id), col(Person.id))
        ).all():
            found[student_id].append(person)
    for student in students:
        if student.adult:
            person = session.get(Person, student.person_id)
            if person is not None:
                found[student.id or 0].append(person)
    return found


def add_note(session: Session, report: AbsenceReport, note: str) -> None:
    """Keep the guardian's short note on a report they made (added after its receipt)."""
    report.note = note
    session.add(report)


def undoable_reports(
    session: Session, reporter_id: int, since: datetime
) -> list[AbsenceReport]:
    """The reports this person made by their latest message since `since`, not cancelled
    (one message may report several children): what one undo takes back. Once those are
    cancelled there is nothing to undo: an undo never reaches back to an earlier message's."""
    latest = session.execute(
        select(AbsenceReport.reported_at).where(
            AbsenceReport.reporter_id == reporter_id, AbsenceReport.reported_at >= since)
        .order_by(col(AbsenceReport.reported_at).desc()).limit(1)
    ).scalar()
    if latest is None:
        return []
    return list(session.execute(
        select(AbsenceReport).where(
            AbsenceReport.reporter_id == reporter_id, col(AbsenceReport.cancelled_at).is_(None),
            AbsenceReport.reported_at == latest).order_by(col(AbsenceReport.id))).scalars())
