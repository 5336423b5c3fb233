"""Bursts of outbox messages to many people, for the delivery tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from policy.clock import Clock
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue_many
from tests.fakes.telegram_api import FakeTelegram

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIRST_CHAT = 91_000


def add_people(engine: Engine, count: int, *, chats: bool = True) -> list[int]:
    """`count` people, each with a Telegram chat (FIRST_CHAT + n) or a phone; their ids."""
    with session_scope(engine) as session:
        people = [Person(name=f"P{n}", language="sv", created_at=NOW, updated_at=NOW,
                         telegram_chat_id=FIRST_CHAT + n if chats else None,
                         phone=None if chats else f"+4670100{n:04d}")
                  for n in range(count)]
        session.add_all(people)
        session.flush()
        return [person.id or 0 for person in people]


def enqueue(engine: Engine, people: list[int], channel: str, *, each: int = 1,
            now: datetime | None = None) -> None:
    """`each` messages to every person on `channel`."""
    with session_scope(engine) as session:
        enqueue_many(session, [
            {"dedupe_key": f"test:{person}:{n}", "kind": MessageKind.NOTICE.value,
             "recipient_id": person, "channel": channel,
             "language": "sv", "text": f"Meddelande {n}"}
            for n in range(each) for person in people
        ], now=now or Clock().now())


def rows(engine: Engine) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def started_chats(fake: FakeTelegram, count: int) -> None:
    """Users who wrote to the bot before (so it may write to them): chats FIRST_CHAT + n."""
    for n in range(count):
        fake.add_user(FIRST_CHAT + n, f"P{n}", started=True)


def received(fake: FakeTelegram, count: int) -> list[int]:
    """How many messages each of the first `count` burst chats got."""
    counts = fake.message_counts()
    return [counts.get(FIRST_CHAT + n, 0) for n in range(count)]
