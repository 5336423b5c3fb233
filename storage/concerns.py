"""Concerns staff raise about a student, open until closed; the ladder reads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.db import chunks
from storage.models import AuditLog, Concern, ConcernNote, Student


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


def add_concern_note(
    session: Session, student_id: int, *, by: int | None, source: str, signals: Sequence[str],
    note: str | None, now: datetime,
) -> tuple[ConcernNote, bool]:
    """Record what someone raised about the student (staff's signals and note, or a
    guardian's words), opening a concern if none is open. (the note, whether the concern is
    new). Audited by who and which signals; the note itself stays out of the audit."""
    new = raise_concern(session, student_id, by=by, now=now)
    concern = open_concern(session, student_id)
    assert concern is not None and concern.id is not None
    row = ConcernNote(concern_id=concern.id, student_id=student_id, raised_by=by, source=source,
                      signals=list(signals), note=note, at=now)
    session.add(row)
    session.flush()
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action="concern.note",
                         entity="student", entity_id=str(student_id), student_id=student_id,
                         detail={"source": source, "signals": list(signals),
                                 "note": note is not None}))
    return row, new


def concern_notes(session: Session, student_id: int) -> list[ConcernNote]:
    """Everything raised about the student, oldest first."""
    return list(session.execute(select(ConcernNote).where(
        ConcernNote.student_id == student_id).order_by(col(ConcernNote.id))).scalars())


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
