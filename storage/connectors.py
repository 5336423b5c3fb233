"""What the school-system connectors keep: their sync state, their copy of the school
system's entities, which of our rows those entities are, and the reports on their way back.

Connector-neutral: every row carries the connector's name (`ss12000`, …).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, update
from sqlmodel import Session, col, select

from storage.db import chunks, table_of
from storage.models import (
    AbsenceReport,
    ConnectorLink,
    ConnectorOutbox,
    ConnectorRecord,
    ConnectorState,
    LeaveDay,
)

#: Outbox states a report is still to be written in.
WAITING = "pending"


def state_of(session: Session, name: str) -> ConnectorState:
    """The connector's state row (made on first use)."""
    state = session.get(ConnectorState, name)
    if state is None:
        state = ConnectorState(name=name, cursor={}, last_counts={}, subscription={})
        session.add(state)
        session.flush()
    return state


def records(session: Session, connector: str, kind: str,
            ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """The stored entities of one kind (all, or those of `ids`), by their id."""
    query = select(ConnectorRecord.external_id, ConnectorRecord.data).where(
        ConnectorRecord.connector == connector, ConnectorRecord.kind == kind)
    if ids is None:
        return {external_id: data for external_id, data in session.execute(query)}
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(set(ids))):
        found.update(session.execute(query.where(col(ConnectorRecord.external_id).in_(part))).all())
    return found


def record_ids(session: Session, connector: str, kind: str) -> set[str]:
    """The ids of the stored entities of one kind."""
    return set(session.execute(select(ConnectorRecord.external_id).where(
        ConnectorRecord.connector == connector, ConnectorRecord.kind == kind)).scalars())


def put_records(session: Session, connector: str, kind: str,
                items: Mapping[str, dict[str, Any]]) -> None:
    """Store (insert or replace) entities of one kind, by id."""
    drop_records(session, connector, kind, list(items))
    rows = [{"connector": connector, "kind": kind, "external_id": external_id, "data": data}
            for external_id, data in items.items()]
    for part in chunks(rows, 1000):
        session.execute(insert(ConnectorRecord), list(part))


def drop_records(session: Session, connector: str, kind: str, ids: Iterable[str]) -> int:
    """Forget entities of one kind; returns how many were stored."""
    gone = 0
    for part in chunks(sorted(set(ids))):
        result = session.exec(delete(ConnectorRecord).where(
            col(ConnectorRecord.connector) == connector, col(ConnectorRecord.kind) == kind,
            col(ConnectorRecord.external_id).in_(part)))
        gone += result.rowcount
    return gone


def links(session: Session, connector: str, kind: str) -> dict[str, int]:
    """Our row id of each linked entity of one kind, by the entity's id."""
    return dict(session.execute(select(ConnectorLink.external_id, ConnectorLink.local_id).where(
        ConnectorLink.connector == connector, ConnectorLink.kind == kind)).all())


def set_links(session: Session, connector: str, kind: str, wanted: Mapping[str, int]) -> None:
    """Make the links of one kind exactly `wanted` (entity id → our row id)."""
    existing = links(session, connector, kind)
    stale = [external_id for external_id, local_id in existing.items()
             if wanted.get(external_id) != local_id]
    for part in chunks(stale):
        session.exec(delete(ConnectorLink).where(
            col(ConnectorLink.connector) == connector, col(ConnectorLink.kind) == kind,
            col(ConnectorLink.external_id).in_(part)))
    new = [{"connector": connector, "kind": kind, "external_id": external_id,
            "local_id": local_id} for external_id, local_id in wanted.items()
           if existing.get(external_id) != local_id]
    for part2 in chunks(new, 1000):
        session.execute(insert(ConnectorLink), list(part2))


def external_id(session: Session, connector: str, kind: str, local_id: int) -> str | None:
    """The entity id of one of our rows, if it is linked."""
    return session.execute(select(ConnectorLink.external_id).where(
        ConnectorLink.connector == connector, ConnectorLink.kind == kind,
        ConnectorLink.local_id == local_id).order_by(ConnectorLink.external_id)).scalars().first()


# -- reports on their way back ------------------------------------------------------------------


def queue_report(session: Session, report: AbsenceReport, now: datetime) -> int:
    """Queue a new report for every school system its student comes from (in the report's
    own transaction, so it is never lost); returns how many were queued."""
    assert report.id is not None, "a report is queued once it has an id"
    return _queue(session, report.student_id, f"report:{report.id}", now,
                  report_id=report.id)


def queue_leave_day(session: Session, day: LeaveDay, now: datetime) -> int:
    """Queue a day of granted leave (written as `Beviljad ledighet`) for every school system
    its student comes from; returns how many were queued."""
    return _queue(session, day.student_id, f"leave:{day.id}", now, leave_day_id=day.id)


@cache
def _connectors_query() -> Any:
    # Built once: every report runs it, and building it costs about as much as running it.
    table = table_of(ConnectorLink)
    return select(table.c.connector).where(table.c.kind == "student",
                                           table.c.local_id == bindparam("student"))


def _queue(session: Session, student_id: int, what: str, now: datetime, *,
           report_id: int | None = None, leave_day_id: int | None = None) -> int:
    """One row per school system the student comes from, `what` in its dedupe key."""
    connectors = sorted(set(session.execute(_connectors_query(),
                                            {"student": student_id}).scalars().all()))
    for connector in connectors:
        session.add(ConnectorOutbox(
            connector=connector, dedupe_key=f"{connector}:{what}", status=WAITING,
            not_before=now, created_at=now, report_id=report_id, leave_day_id=leave_day_id))
    return len(connectors)


def report_changed(session: Session, report: AbsenceReport, now: datetime) -> None:
    """A report was cancelled or shortened. One not yet written is withdrawn (cancelled) or
    goes as it now is (shortened); one already written stays in the school system (SS 12000
    has no way to change or delete it) and is marked for the school to correct there."""
    assert report.id is not None, "a report changes once it has an id"
    rows = session.execute(select(ConnectorOutbox).where(
        ConnectorOutbox.report_id == report.id,
        col(ConnectorOutbox.dedupe_key).not_like("%:correct:%"))).scalars().all()
    for row in rows:
        if row.status == WAITING and report.cancelled_at is not None:
            row.status, row.last_error = "withdrawn", "cancelled before it was written"
        elif row.status == "sent":
            key = f"{row.connector}:report:{report.id}:correct:{report.last_day.isoformat()}"
            if report.cancelled_at is not None:
                key = f"{row.connector}:report:{report.id}:correct:cancelled"
            exists = session.execute(select(ConnectorOutbox.id).where(
                ConnectorOutbox.dedupe_key == key)).first()
            if exists is None:
                session.add(ConnectorOutbox(
                    connector=row.connector, dedupe_key=key, report_id=report.id,
                    status="to_correct", not_before=now, created_at=now,
                    remote_id=row.remote_id,
                    last_error="changed after it was written: correct it in the school system"))


def claim_reports(session: Session, connector: str, now: datetime, *, lease: timedelta,
                  limit: int = 100) -> list[int]:
    """Due reports of `connector`, claimed for `lease` (a crash hands them to the next
    round, which checks before it writes again); each claim counts as an attempt."""
    query = (select(ConnectorOutbox.id)
             .where(ConnectorOutbox.connector == connector, ConnectorOutbox.status == WAITING,
                    ConnectorOutbox.not_before <= now)
             .order_by(col(ConnectorOutbox.id)).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if ids:
        session.execute(update(ConnectorOutbox).where(col(ConnectorOutbox.id).in_(ids)).values(
            not_before=now + lease, attempts=ConnectorOutbox.attempts + 1))
    return ids


def report_queue_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per connector, how many reports are in each state."""
    found: dict[str, dict[str, int]] = {}
    for connector, status, count in session.execute(
            select(ConnectorOutbox.connector, ConnectorOutbox.status, func.count())
            .group_by(ConnectorOutbox.connector, ConnectorOutbox.status)):
        found.setdefault(connector, {})[status] = int(count)
    return found


def health(session: Session) -> dict[str, dict[str, Any]]:
    """Each connector's last sync, error and report queue, for /healthz (no personal data)."""
    queues = report_queue_counts(session)
    found: dict[str, dict[str, Any]] = {}
    for state in session.execute(select(ConnectorState)).scalars():
        queue = queues.get(state.name, {})
        found[state.name] = {
            "last_success": state.last_success_at.isoformat() if state.last_success_at else None,
            "last_attempt": state.last_attempt_at.isoformat() if state.last_attempt_at else None,
            "error": state.last_error,
            "changes": state.last_counts,
            "reports": {"waiting": queue.get(WAITING, 0), "failed": queue.get("failed", 0),
                        "to_correct": queue.get("to_correct", 0),
                        "maybe_sent": queue.get("maybe_sent", 0)},
        }
    return found

