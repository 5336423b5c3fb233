"""Read-only listings for the command line (`narvaro absences|tasks|outbox list`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Absence, OutboxMessage, Person, School, StaffTask, Student

LIMIT = 10_000
#: The student's own person row (their name), beside another person in the same query.
StudentPerson = aliased(Person)


def _student_name(name: str | None, external_id: str | None, protected: bool | None) -> str:
    """A student as staff see them in lists: the name, or `#ID` for a protected identity."""
    if external_id is None:
        return ""
    return f"#{external_id}" if protected or not name else name


def list_absences(
    session: Session, *, student: str | None = None, school: str | None = None,
    day: date | None = None, state: str | None = None,
) -> list[dict[str, Any]]:
    """Absences and late arrivals, newest day first, by the school's own student ids."""
    query = (
        select_columns(Absence, col(Student.external_id), col(School.name),
                       col(StudentPerson.name), col(Student.protected))
        .join(Student, col(Student.id) == Absence.student_id)
        .join(School, col(School.id) == Student.school_id)
        .join(StudentPerson, col(StudentPerson.id) == Student.person_id)
        .order_by(col(Absence.day).desc(), col(Absence.id))
        .limit(LIMIT)
    )
    if student:
        query = query.where(col(Student.external_id) == student)
    if school:
        query = query.where(col(School.name) == school)
    if day:
        query = query.where(col(Absence.day) == day)
    if state:
        query = query.where(col(Absence.state) == state)
    return [
        {"id": a.id, "school": school_name, "student_id": external_id,
         "student_name": _student_name(name, external_id, protected),
         "date": a.day.isoformat(), "slot": a.slot, "kind": a.kind,
         "lesson_start": a.lesson_start.strftime("%H:%M") if a.lesson_start else None,
         "lesson_end": a.lesson_end.strftime("%H:%M") if a.lesson_end else None,
         "minutes_late": a.minutes_late, "state": a.state, "source": a.source}
        for a, external_id, school_name, name, protected in session.execute(query)
    ]


def list_tasks(
    session: Session, *, status: str | None = None, student: str | None = None
) -> list[dict[str, Any]]:
    """Staff tasks, soonest due first."""
    query = (
        select_columns(StaffTask, col(Student.external_id), col(Person.phone), col(Person.name),
                       col(StudentPerson.name), col(Student.protected))
        .outerjoin(Student, col(Student.id) == StaffTask.student_id)
        .outerjoin(StudentPerson, col(StudentPerson.id) == Student.person_id)
        .join(Person, col(Person.id) == StaffTask.assignee_id)
        .order_by(col(StaffTask.due_at), col(StaffTask.id))
        .limit(LIMIT)
    )
    if status:
        query = query.where(col(StaffTask.status) == status)
    if student:
        query = query.where(col(Student.external_id) == student)
    return [
        {"id": t.id, "kind": t.kind, "status": t.status, "outcome": t.outcome,
         "student_id": external_id,
         "student_name": _student_name(student_name, external_id, protected),
         "assignee_id": t.assignee_id, "assignee_name": assignee, "assignee_phone": phone,
         "due_at": t.due_at.isoformat(),
         "done_at": t.done_at.isoformat() if t.done_at else None}
        for t, external_id, phone, assignee, student_name, protected in session.execute(query)
    ]


def list_outbox(
    session: Session, *, status: str | None = None, channel: str | None = None,
    to: str | None = None,
) -> list[dict[str, Any]]:
    """Outbound messages, oldest first."""
    query = (
        select(OutboxMessage, Person.phone, Person.name)
        .outerjoin(Person, col(Person.id) == OutboxMessage.recipient_id)  # strangers have none
        .order_by(col(OutboxMessage.id))
        .limit(LIMIT)
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    if to:
        query = query.where(Person.phone == to)
    return [
        {"id": m.id, "recipient_id": m.recipient_id, "recipient_name": name,
         "recipient_phone": phone,
         "address": m.address, "channel": m.channel, "language": m.language, "text": m.text,
         "choices": m.choices or [], "status": m.status, "attempts": m.attempts,
         "dedupe_key": m.dedupe_key, "kind": m.kind, "student_id": m.student_id,
         "day": m.day.isoformat() if m.day else None, "task_id": m.task_id,
         "created_at": m.created_at.isoformat(),
         "sent_at": m.sent_at.isoformat() if m.sent_at else None,
         "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
         "last_error": m.last_error}
        for m, phone, name in session.execute(query)
    ]
