"""The audit trail: who did what, when, about which student. Ids only, never names,
numbers, reasons or texts."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, insert
from sqlmodel import Session, col, select

from storage.db import execute_write, table_of
from storage.models import Absence, AuditLog, StaffTask, Student


@cache
def _insert() -> Insert:
    # Built once, on the table: an audit row is never read back in the same transaction,
    # so it needs no object in the session.
    return insert(table_of(AuditLog))


def audit(
    session: Session, *, at: datetime, actor: str, action: str, entity: str,
    entity_id: str | int | None = None, student_id: int | None = None, **detail: Any,
) -> None:
    """Add one audit row (in the caller's transaction)."""
    execute_write(session, _insert(), {
        "at": at, "actor": actor, "action": action, "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id), "student_id": student_id,
        "detail": detail})


#: The actor of what the time-driven rules change by themselves.
SYSTEM = "system"


def audit_unexcused(session: Session, absence: Absence, now: datetime) -> None:
    """An absence the rules settled as unexcused (no report came in time)."""
    audit(session, at=now, actor=SYSTEM, action="absence.unexcused", entity="absence",
          entity_id=absence.id, student_id=absence.student_id)


def audit_closed(session: Session, task: StaffTask, now: datetime) -> None:
    """A task the rules closed themselves (a report or correction came, a step was left)."""
    audit(session, at=now, actor=SYSTEM, action=f"task.{task.status}", entity="staff_task",
          entity_id=task.id, student_id=task.student_id, kind=task.kind, outcome=task.outcome)


def actor_of(person_id: int | None) -> str:
    """How an actor is named in the trail: `person:ID`, or `cli` for the command line."""
    return f"person:{person_id}" if person_id else "cli"


def list_audit(
    session: Session, *, student: str | None = None, actor: str | None = None,
    action: str | None = None, since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, oldest first, filtered by the school's student id, actor, action prefix
    and time; as plain rows for the command line."""
    query = select(AuditLog, Student.external_id).outerjoin(
        Student, col(Student.id) == AuditLog.student_id).order_by(col(AuditLog.id))
    if student is not None:
        query = query.where(Student.external_id == student)
    if actor is not None:
        query = query.where(AuditLog.actor == actor)
    if action is not None:
        query = query.where(col(AuditLog.action).startswith(action))
    if since is not None:
        query = query.where(AuditLog.at >= since)
    return [
        {"id": row.id, "at": row.at.isoformat(), "actor": row.actor, "action": row.action,
         "entity": row.entity, "entity_id": row.entity_id, "student_id": external_id,
         "detail": row.detail}
        for row, external_id in session.execute(query).all()
    ]
