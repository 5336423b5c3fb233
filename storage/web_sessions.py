"""Web sessions of signed-in staff: opened by a sign-in link, checked on every request,
ended by sign-out, by a roster change that takes a role away, and by forgetting the person.

The cookie carries a random token; only its SHA-256 is stored, so the table's contents do
not sign anyone in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.db import chunks
from storage.models import WebSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(session: Session, person_id: int, *, now: datetime,
                 valid: timedelta) -> str:
    """A new session for `person_id`, valid for `valid`; returns the cookie's token.
    Sessions that have run out are cleared on the way."""
    session.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(token), person_id=person_id, created_at=now,
                           expires_at=now + valid))
    session.flush()
    return token


def session_person(session: Session, token: str | None, *, now: datetime) -> int | None:
    """The person a cookie's token signs in, if its session exists and has not run out."""
    if not token or len(token) > 100:
        return None
    found = session.execute(select(WebSession.person_id, WebSession.expires_at).where(
        WebSession.token_hash == _hash(token))).first()
    if found is None or found[1] < now:
        return None
    return int(found[0])


def end_session(session: Session, token: str | None) -> bool:
    """End the session a cookie's token names (sign-out); False when there was none."""
    if not token:
        return False
    result = session.exec(delete(WebSession).where(col(WebSession.token_hash) == _hash(token)))
    return bool(result.rowcount)


def end_sessions_of(session: Session, people: Iterable[int]) -> int:
    """End every session of `people` (roles taken away, forgotten); returns how many."""
    ended = 0
    for part in chunks(sorted(set(people))):
        result = session.exec(delete(WebSession).where(col(WebSession.person_id).in_(part)))
        ended += result.rowcount
    return ended
