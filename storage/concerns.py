"""Concerns staff raise about a student, open until closed; the ladder reads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.db import chunks
from storage.models import AuditLog, Concern, Student


def open_concern(session: Session, student_id: int) -> Concern | None:
    """The student's open concern, if any."""
    return session.execute(select(Concern).where(
        Concern.student_id == student_id, col(Concern.closed_at).is_(None))).scalars().first()


def raise_concern(session: Session, student_id: int, *, by: int | None, now: datetime) -> bool:
    """Open a concern about the student (audited); False when one is open already."""
    if open_concern(session, student_id) is not None:
        return False
    session.add(Concern(student_id=student_id, raised_by=by, raised_at=now))
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action="concern.raise",
                         entity="student", entity_id=str(student_id), detail={},
                         student_id=student_id))
    return True


def close_concern(session: Session, student_id: int, *, by: int | None, now: datetime) -> bool:
    """Close the student's open concern (audited); False when there was none."""
    concern = open_concern(session, student_id)
    if concern is None:
        return False
    concern.closed_at, concern.closed_by = now, by
    session.add(concern)
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action="concern.close",
                         entity="student", entity_id=str(student_id), detail={},
                         student_id=student_id))
    return True


def concerned(session: Session, students: Sequence[int]) -> set[int]:
    """Which of the students have an open concern."""
    found: set[int] = set()
    for part in chunks(list(students)):
        found.update(session.execute(select(Concern.student_id).where(
            col(Concern.student_id).in_(part), col(Concern.closed_at).is_(None))).scalars())
    return found


def concern_changes(session: Session, school_id: int) -> dict[int, datetime]:
    """For the school's students with concerns, when one was last raised or closed."""
    found: dict[int, datetime] = {}
    for student_id, raised, closed in session.execute(
        select(Concern.student_id, Concern.raised_at, Concern.closed_at)
        .join(Student, col(Student.id) == Concern.student_id)
        .where(Student.school_id == school_id)
    ).all():
        latest = max(raised, closed or raised)
        found[student_id] = max(found.get(student_id, latest), latest)
    return found
