"""The intake: every inbound text is stored here before anything else is done with it, and
deleted once handled. Storing must never wait for a long write to the database (a roster
import of 100,000 rows holds SQLite's one write lock for many seconds), so on SQLite the
intake is a small file of its own beside the database, with a lock of its own; on
PostgreSQL it is a table of the database, whose row locks an import does not touch.

A row holds the sender's number and text only until it is handled (normally within the
second); one that cannot be handled is dropped after a few attempts, with an apology.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, SQLModel, col, or_, select

from storage.db import insert_new, make_engine
from storage.models import IntakeMessage

#: A row another worker stored and has not handled for this long is taken over (that worker
#: may have died); handling twice is harmless, an inbound id is handled once.
TAKEOVER = timedelta(minutes=1)


def intake_path(database: str) -> Path:
    """The intake's file beside a SQLite database file: `narvaro.db` → `narvaro-intake.db`."""
    path = Path(database)
    return path.with_name(f"{path.stem}-intake{path.suffix or '.db'}")


def intake_engine(engine: Engine) -> Engine:
    """The engine the intake is stored on: the database's own on PostgreSQL (and for an
    in-memory SQLite database), a file of its own beside a SQLite database (made if
    missing)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    own = make_engine(f"sqlite:///{intake_path(database)}")
    SQLModel.metadata.create_all(own, tables=[SQLModel.metadata.tables["intake_message"]])
    return own


def store(session: Session, *, channel: str, ref: str, sender: str, body: str, worker: str,
          now: datetime) -> bool:
    """Store an inbound message; False when one with this `ref` is stored already (the
    provider sent it again before it was handled)."""
    statement = (
        insert_new(IntakeMessage, session.get_bind().dialect.name, ["channel", "ref"])
        .values(channel=channel, ref=ref[:64], sender=sender[:64], body=body, worker=worker[:64],
                received_at=now, attempts=0)
        .returning(col(IntakeMessage.id))
    )
    return session.execute(statement).scalar() is not None


def waiting(session: Session, *, worker: str | None, now: datetime, limit: int = 100
            ) -> list[IntakeMessage]:
    """The messages `worker` is to handle, oldest first: its own, and any another worker
    left for longer than TAKEOVER (with `worker` None, the only one: all of them)."""
    query = select(IntakeMessage).order_by(col(IntakeMessage.id)).limit(limit)
    if worker is not None:
        query = query.where(or_(col(IntakeMessage.worker) == worker,
                                col(IntakeMessage.received_at) < now - TAKEOVER))
    return list(session.execute(query).scalars())


def handled(session: Session, message_id: int) -> None:
    """Delete a handled message (its text and number with it)."""
    session.exec(delete(IntakeMessage).where(col(IntakeMessage.id) == message_id))


def attempt_failed(session: Session, message_id: int) -> int:
    """Count a failed attempt to handle a message; returns the attempts so far."""
    session.exec(update(IntakeMessage).where(col(IntakeMessage.id) == message_id)
                 .values(attempts=col(IntakeMessage.attempts) + 1))
    found = session.exec(select(IntakeMessage.attempts).where(
        col(IntakeMessage.id) == message_id)).first()
    return int(found or 0)


def forget_sender(session: Session, sender: str) -> int:
    """Delete the texts from `sender` still waiting (the person is forgotten); how many."""
    return session.exec(delete(IntakeMessage).where(
        col(IntakeMessage.sender) == sender)).rowcount
