"""`narvaro tick` sends on the channels `narvaro run` sends on; a message whose channel the
sending process does not hold stays pending, and nothing is marked delivered on a channel
its recipient does not use."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.local import ConsoleChannel, WebChatChannel
from bot.cli import main
from bot.dispatcher import Dispatcher
from policy.clock import Clock
from policy.routing import AUTO
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue
from tests.fakes.twilio_api import FakeTwilio
from tests.rosters import GOOD_STUDENTS, STAFF, write
from tests.telegram_harness import free_port

pytestmark = pytest.mark.postgresql

MONA = "+46701234567"
NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


@pytest.fixture
def roster(narvaro_env: dict[str, str], engine: Engine, tmp_path: Path) -> Engine:
    """A database holding the small test roster."""
    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    return engine


def notice_to(engine: Engine, phone: str, key: str) -> int:
    """Queue a routed message (as the notices are) for the person with `phone`."""
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        enqueue(session, dedupe_key=key, kind=MessageKind.NOTICE, recipient_id=person.id,
                channel=AUTO,
                language="ar", text="notice", now=NOW)
        row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).one()
        assert row.id is not None
        return row.id


def row(engine: Engine, message_id: int) -> OutboxMessage:
    """One outbox row as stored now."""
    with Session(engine) as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        return found


def test_tick_sends_a_guardians_notice_by_sms(
    roster: Engine, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With Twilio configured, `tick` texts the guardian through the real twilio client; the
    web chat (also on) never gets the notice."""
    for name, value in {
        "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "NARVARO_TWILIO_FROM": "+46701740000", "NARVARO_TWILIO_API_URL": twilio.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    message_id = notice_to(roster, MONA, "notice:sms")
    capsys.readouterr()
    assert main(["tick", "--now", "2026-11-23T09:30:00+01:00"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["sent"], summary["waiting"]) == (1, 0)
    [sms] = twilio.messages(MONA)
    assert sms.body == "notice"
    sent = row(roster, message_id)
    assert (sent.channel, sent.status) == ("sms", "sent")  # Twilio's callback says delivered


def test_tick_leaves_a_message_pending_when_its_channel_cannot_open(
    roster: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A guardian linked on Telegram, and the Bot API down when `tick` runs: the notice waits
    for Telegram, with one warning; it is not shown in the web chat or marked delivered."""
    monkeypatch.setenv("NARVARO_TELEGRAM_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("NARVARO_TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}/bot")
    with session_scope(roster) as session:
        mona = session.exec(select(Person).where(Person.phone == MONA)).one()
        mona.telegram_chat_id = 4242
    first = notice_to(roster, MONA, "notice:1")
    second = notice_to(roster, MONA, "notice:2")
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert main(["tick", "--now", "2026-11-23T09:30:00+01:00"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["sent"], summary["waiting"]) == (0, 2)
    for message_id in (first, second):
        waiting = row(roster, message_id)
        assert (waiting.channel, waiting.status, waiting.attempts) == (AUTO, "pending", 0)
    pending = [r.getMessage() for r in caplog.records if "stay pending" in r.getMessage()]
    assert len(pending) == 2  # Telegram could not connect; its messages wait (said once)
    assert "telegram" in pending[1]


async def test_a_dispatcher_without_the_recipients_channel_leaves_it_pending(
    roster: Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    """A process that holds only local channels, in an installation that texts guardians:
    the guardian's message is put back as it was, said once, and not claimed again in that
    round or the next; a staff member's answer on the web chat still goes."""
    message_id = notice_to(roster, MONA, "notice:sms")
    with session_scope(roster) as session:
        anna = session.exec(select(Person).where(Person.phone == "+46701112233")).one()
        enqueue(session, dedupe_key="webchat:answer", kind=MessageKind.REPLY,
                recipient_id=anna.id, channel="webchat",
                language="sv", text="ok", now=NOW)
    dispatcher = Dispatcher(roster, Clock(NOW), {"console": ConsoleChannel(),
                                                  "webchat": WebChatChannel()},
                            configured={"console", "webchat", "sms"})
    with caplog.at_level(logging.WARNING):
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0
    waiting = row(roster, message_id)
    assert (waiting.channel, waiting.status, waiting.attempts, waiting.claimed_by) == (
        AUTO, "pending", 0, None)
    assert dispatcher.waiting == {"sms": {message_id}}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "sms" in warnings[0]
    with Session(roster) as session:
        assert session.exec(select(OutboxMessage.status).where(
            OutboxMessage.dedupe_key == "webchat:answer")).one() == "delivered"
