"""Arbitrary texts by SMS never crash the dialog and never store a report without a receipt."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from handlers.sms_inbox import SmsMessage, handle_sms
from storage.db import make_engine, session_scope
from storage.models import AbsenceReport, OutboxMessage, Person
from storage.outbox import mark_sent
from tests.telegram_harness import import_roster

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
LENA = "+46701234501"  # two children: every kind of question comes up
RECEIPT = "Registrerat:"
WORDS = [
    "sjuk", "idag", "imorgon", "Ali", "Sara", "ja", "nej", "1", "2", "3", "4", "5",
    "tandläkare", "24/11", "24.11–26.11", "08:15-10:00", "måndag", "avbryt", "STOPP",
    "START", "hjälp", "familj", "annat", "Skicka", "Ändra", "0", "99", "", " ",
    "²", "①", "١", "٢",
]
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(WORDS),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=4).map(" ".join),
)
sids = itertools.count()


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    """A SQLite database with the transcript roster (shared by all the examples of a test)."""
    url = f"sqlite:///{tmp_path / 'narvaro.db'}"
    monkeypatch.setenv("NARVARO_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    import_roster(tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def last_question(session: Session, person_id: int) -> str | None:
    """The text of the last message sent to the person."""
    return session.exec(
        select(OutboxMessage.text).where(col(OutboxMessage.recipient_id) == person_id)
        .order_by(col(OutboxMessage.id).desc()).limit(1)
    ).first()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=st.lists(texts, min_size=1, max_size=6))
def test_no_report_without_a_receipt(db: Engine, conversation: list[str]) -> None:
    """Whatever is texted, in whatever order: a report is recorded only with a receipt that
    names it by its reference and gives the undo word, only for the writer's own
    children, and nothing raises."""
    for text in conversation:
        with session_scope(db) as session:
            lena = session.exec(select(Person).where(Person.phone == LENA)).one()
            before = {r.id for r in session.exec(select(AbsenceReport))}
            handle_sms(session, SmsMessage(f"SM{next(sids):032d}", LENA, text), now=NOW,
                       default_language="sv", secret=b"test")
            # As the dispatcher would: what was queued goes out before the next text.
            for row in session.exec(select(OutboxMessage).where(
                    OutboxMessage.status == "pending")).all():
                mark_sent(session, row.id or 0, now=NOW, provider_ref=None)
            new = [r for r in session.exec(select(AbsenceReport)) if r.id not in before]
            if new:
                answer = last_question(session, lena.id or 0) or ""
                assert answer.startswith(RECEIPT), (text, answer)
                assert all(r.reference in answer for r in new)
                assert "ÅNGRA" in answer and len(new) <= 2
                assert {r.reporter_id for r in new} == {lena.id}
