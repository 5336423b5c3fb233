"""Inbound messages already handled: a replayed update or webhook is recognised and skipped."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from storage.db import insert_new, table_of
from storage.models import InboundSeen

#: How long an inbound id is remembered; providers stop retrying long before.
KEEP_SEEN = timedelta(days=14)


@cache
def _insert_seen(dialect: str) -> Any:
    # Built once: building an insert and its cache key costs more than running it.
    # On the table, not the model: the ORM's bulk-insert path costs more than the insert.
    table = table_of(InboundSeen)
    return insert_new(table, dialect, ["channel", "ref"]).returning(table.c.ref)


def mark_seen(session: Session, *, channel: str, ref: str, now: datetime) -> bool:
    """Record `ref` on `channel`; False when it was already recorded (a replay).

    Runs in the caller's transaction, so a message counts as seen exactly when
    what it caused is committed.
    """
    statement = _insert_seen(session.get_bind().dialect.name)
    return session.execute(
        statement, {"channel": channel, "ref": ref[:64], "at": now}).scalar() is not None


def forget_seen(session: Session, *, now: datetime) -> int:
    """Forget inbound ids older than KEEP_SEEN."""
    result = session.exec(delete(InboundSeen).where(col(InboundSeen.at) < now - KEEP_SEEN))
    return result.rowcount
