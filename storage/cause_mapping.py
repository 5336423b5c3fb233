"""Cause mappings sent by chat: one row per respondent, filled one area at a time."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from policy.concerns import next_area
from storage.models import AuditLog, CauseMapping


def start_mapping(session: Session, *, student_id: int, respondent_id: int, by: int | None,
                  now: datetime) -> CauseMapping:
    """A new mapping for the respondent to answer (audited); an unfinished earlier one for
    the same student and respondent is replaced by it."""
    for old in session.execute(select(CauseMapping).where(
            CauseMapping.student_id == student_id, CauseMapping.respondent_id == respondent_id,
            col(CauseMapping.finished_at).is_(None))).scalars():
        session.delete(old)
    mapping = CauseMapping(student_id=student_id, respondent_id=respondent_id, sent_by=by,
                           created_at=now, answers={})
    session.add(mapping)
    session.flush()
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action="mapping.send",
                         entity="student", entity_id=str(student_id), student_id=student_id,
                         detail={"mapping": mapping.id}))
    return mapping


def record_area(session: Session, mapping: CauseMapping, area: str, answer: int,
                now: datetime) -> bool:
    """The respondent's answer to one area; True when that completed the mapping."""
    mapping.answers = {**mapping.answers, area: answer}
    if next_area(mapping.answers) is None and mapping.finished_at is None:
        mapping.finished_at = now
        session.add(AuditLog(at=now, actor=f"person:{mapping.respondent_id}",
                             action="mapping.finish", entity="student",
                             entity_id=str(mapping.student_id),
                             student_id=mapping.student_id, detail={"mapping": mapping.id}))
        session.add(mapping)
        return True
    session.add(mapping)
    return False


def mappings_of(session: Session, student_id: int) -> list[CauseMapping]:
    """The student's finished mappings, newest first."""
    return list(session.execute(select(CauseMapping).where(
        CauseMapping.student_id == student_id, col(CauseMapping.finished_at).is_not(None))
        .order_by(col(CauseMapping.id).desc())).scalars())
