"""A bare number by SMS answers the last question texted: the typed choices stored on that
text (handlers/sms_inbox.py), in-process on a SQLite file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from handlers.sms_inbox import SmsMessage, handle_sms
from storage.db import make_engine, session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue, mark_sent
from tests.telegram_harness import import_roster

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
LENA = "+46701234501"  # two children: Ali and Sara
sids = itertools.count()


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'narvaro.db'}"
    monkeypatch.setenv("NARVARO_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    import_roster(tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def text(db: Engine, body: str) -> str:
    """Lena texts `body`; the answer, once sent (as the dispatcher would)."""
    with session_scope(db) as session:
        [answer] = handle_sms(session, SmsMessage(f"SM{next(sids):032d}", LENA, body),
                              now=NOW, default_language="sv", secret=b"test")
        _send_all(session)
        return answer.text


def _send_all(session: Session) -> None:
    for row in session.exec(select(OutboxMessage).where(
            OutboxMessage.status == "pending")).all():
        mark_sent(session, row.id or 0, now=NOW, provider_ref=None)


def test_news_and_help_leave_the_question_open(db: Engine) -> None:
    assert text(db, "Ali borta idag").startswith("Vad är anledningen?")
    with session_scope(db) as session:
        lena = session.exec(select(Person).where(Person.phone == LENA)).one()
        enqueue(session, dedupe_key="news:1", kind=MessageKind.REPORT_NEWS,
                recipient_id=lena.id, channel="sms",
                language="sv", text="Ingen fråga här.", now=NOW)
        _send_all(session)
    assert text(db, "HJÄLP").startswith("Frågor?")
    assert text(db, "2").startswith("Registrerat: Ali frånvarande mån 23 nov, läkar- eller "
                                     "tandläkarbesök.")


def test_a_question_without_choices_closes_the_one_before(db: Engine) -> None:
    assert text(db, "sjuk idag").startswith("Vem är frånvarande?")
    assert text(db, "Ali kommer senare").startswith("Vilka tider är Ali borta?")
    # Not Ali from the question before: the words "1", which give no hours.
    assert text(db, "1").startswith("Förlåt, jag förstod inte det datumet.")
