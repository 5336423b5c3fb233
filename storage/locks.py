"""Locks between several workers on one PostgreSQL database (advisory locks).

On SQLite there is one process writing, so every lock is granted.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, text
from sqlmodel import Session

#: The first key of every Närvaro advisory lock (so other applications' locks never clash).
NAMESPACE = 0x4E415256  # "NARV"


def lock_key(name: str) -> int:
    """The second key of the lock called `name` (stable across processes and versions)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def try_transaction_lock(session: Session, name: str) -> bool:
    """Take the lock `name` until the session's transaction ends; False if another holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(
        text("SELECT pg_try_advisory_xact_lock(:namespace, :key)"),
        {"namespace": NAMESPACE, "key": lock_key(name)},
    ).scalar())


def try_session_lock(connection: Connection, name: str) -> bool:
    """Take the lock `name` for as long as `connection` stays open (or until released)."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(connection.execute(
        text("SELECT pg_try_advisory_lock(:namespace, :key)"),
        {"namespace": NAMESPACE, "key": lock_key(name)},
    ).scalar())
