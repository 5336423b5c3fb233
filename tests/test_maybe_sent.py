"""`maybe_sent` only when a message may have been sent, and settled by asking Twilio.

The dispatcher sends through the real twilio client (aiohttp) to the fake Twilio REST
server, which can reset the connection after reading a request (having taken the message,
or not) and lists messages with Twilio's To / DateSent filters; the principals' daily count
of what waits for a person goes through `narvaro tick` on a real database.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from bot.cli import main
from bot.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.sms import TwilioSms
from policy.clock import Clock
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue
from tests.bursts import add_people, rows
from tests.bursts import enqueue as enqueue_burst
from tests.fakes.twilio_api import FakeTwilio
from tests.rosters import GOOD_STUDENTS, STAFF, write

pytestmark = pytest.mark.postgresql

TO = "+46701000000"


@asynccontextmanager
async def sms_dispatcher(engine: Engine, api_url: str, twilio: FakeTwilio,
                         **settings: Any) -> AsyncIterator[tuple[Dispatcher, TwilioSms]]:
    """A dispatcher sending SMS through the real twilio client to `api_url`."""
    values = load_settings(
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from="+46701740000", twilio_api_url=api_url, database_url=str(engine.url),
        **settings)
    sms = TwilioSms(values, engine, Clock(), default_language="sv")
    await sms.start()
    try:
        yield Dispatcher(engine, Clock(), {"sms": sms}), sms
    finally:
        await sms.close()


def list_requests(twilio: FakeTwilio) -> int:
    """How many times the Messages list was asked for."""
    return sum(1 for r in twilio.requests() if r.method == "GET"
               and r.path.endswith("/Messages.json"))


async def test_a_refused_connection_is_a_safe_retry_with_backoff(
    engine: Engine, twilio: FakeTwilio
) -> None:
    """Nothing listens: the request never left, so the SMS is pending again after a backoff
    (not `maybe_sent`), and Twilio is never asked about it."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    enqueue_burst(engine, add_people(engine, 1, chats=False), "sms")
    async with sms_dispatcher(engine, closed, twilio) as (dispatcher, _sms):
        before = dispatcher.clock.now()
        assert await dispatcher.dispatch_once() == 0
        failed = dispatcher.clock.now()  # the refusal came in between (slowly on a busy machine)
        assert await dispatcher.reconcile_once() == 0
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "before sending" in (row.last_error or "")
    # The first retry waits 30 s less up to half of it (jitter), from the refusal.
    assert before + timedelta(seconds=15) <= row.not_before <= failed + timedelta(seconds=30)


async def test_a_reset_after_twilio_took_the_sms_is_settled_from_twilio_not_sent_twice(
    engine: Engine, twilio: FakeTwilio
) -> None:
    """Twilio took the SMS and the connection was reset before its answer: the request was
    written, so the row is `maybe_sent` (never retried blind, which sent it twice); asking
    Twilio's Messages list settles it as delivered with Twilio's SID."""
    enqueue_burst(engine, add_people(engine, 1, chats=False), "sms")
    twilio.reset_next(TO, created=True)
    async with sms_dispatcher(engine, twilio.base_url, twilio) as (dispatcher, _sms):
        assert await dispatcher.dispatch_once() == 0
        [row] = rows(engine)
        assert row.status == "maybe_sent" and "after sending" in (row.last_error or "")
        assert await dispatcher.dispatch_once() == 0
        [taken] = twilio.messages(TO)
        await twilio.wait_until(lambda: twilio.message(taken.sid).status == "delivered")
        assert await dispatcher.reconcile_once() == 1
        assert await dispatcher.dispatch_once() == 0
    [row] = rows(engine)
    assert (row.status, row.provider_ref, row.provider_status) == (
        "delivered", taken.sid, "delivered")
    assert len(twilio.messages(TO)) == 1 and list_requests(twilio) == 1


async def test_a_reset_before_twilio_took_it_is_sent_again_once_twilio_says_it_never_had_it(
    engine: Engine, twilio: FakeTwilio
) -> None:
    """The connection was reset and Twilio never took the SMS: while Twilio may still be
    holding it the row waits; once it cannot be, Twilio's empty list sends it again, once."""
    enqueue_burst(engine, add_people(engine, 1, chats=False), "sms")
    twilio.reset_next(TO, created=False)
    async with sms_dispatcher(engine, twilio.base_url, twilio) as (dispatcher, _sms):
        assert await dispatcher.dispatch_once() == 0
        assert [r.status for r in rows(engine)] == ["maybe_sent"]
        assert await dispatcher.reconcile_once() == 0  # too early to say it was never taken
        assert [r.status for r in rows(engine)] == ["maybe_sent"]
        [row] = rows(engine)
        assert row.claimed_at is not None
        with session_scope(engine) as session:  # sent eleven minutes ago
            session.execute(update(OutboxMessage).values(
                claimed_at=row.claimed_at - timedelta(minutes=11)))
        assert await dispatcher.reconcile_once() == 1
        assert await dispatcher.dispatch_once() == 1
    [row] = rows(engine)
    [sent] = twilio.messages(TO)
    assert (row.status, row.provider_ref) == ("sent", sent.sid)
    assert list_requests(twilio) == 2


async def test_twilios_list_filters_like_twilio(twilio: FakeTwilio, engine: Engine) -> None:
    """The fake's Messages list through the real client: To, DateSent> and paging."""
    enqueue_burst(engine, add_people(engine, 3, chats=False), "sms", each=2)
    async with sms_dispatcher(engine, twilio.base_url, twilio) as (dispatcher, sms):
        assert await dispatcher.dispatch_once() == 6
        await twilio.wait_until(lambda: all(m.status == "delivered" for m in twilio.messages()))
        first = min(m.sent_at for m in twilio.messages() if m.sent_at)
        assert sms.client is not None
        mine = await sms.client.messages.list_async(to=TO, date_sent_after=first, page_size=1)
        assert [m.body for m in mine] == ["Meddelande 1", "Meddelande 0"]  # newest first
        later = await sms.client.messages.list_async(
            to=TO, date_sent_after=first + timedelta(hours=1))
        assert later == []


@pytest.fixture
def school(narvaro_env: dict[str, str], engine: Engine, tmp_path: Path) -> Engine:
    """Norrskolan's roster (Rut Rektor the principal, Mona Hassan Ali's mother)."""
    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    return engine


def test_the_principal_hears_once_a_day_how_many_wait_for_a_person(
    school: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two messages to Mona wait for a person (a Telegram one at once, an SMS Twilio could
    not settle within the hour; a fresh SMS is still Twilio's to settle): at 08:00 Rut
    hears "2 messages …", with no name, number or text; a second tick that day tells her
    nothing more, the next day again."""
    with session_scope(school) as session:
        mona = session.execute(select(Person).where(Person.name == "Mona Hassan")).scalar_one()
        for key, channel, made in (("a", "telegram", "07:55"), ("b", "sms", "05:00"),
                                   ("c", "sms", "07:55")):
            enqueue(session, dedupe_key=f"lost:{key}", kind=MessageKind.NOTICE,
                    recipient_id=mona.id, channel=channel,
                    language="ar", text="Ali är inte i skolan idag",
                    now=datetime.fromisoformat(f"2026-11-23T{made}:00+01:00"))
        session.execute(update(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("lost:")).values(status="maybe_sent"))

    def told() -> list[OutboxMessage]:
        with Session(school) as session:
            return list(session.exec(select(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith("unsettled:"))).all())

    assert main(["tick", "--now", "2026-11-23T07:30:00+01:00"]) == 0
    assert told() == []
    assert main(["tick", "--now", "2026-11-23T08:05:00+01:00"]) == 0
    [message] = told()
    with Session(school) as session:
        rut = session.execute(select(Person).where(Person.name == "Rut Rektor")).scalar_one()
    assert message.recipient_id == rut.id
    assert message.text.startswith("2 meddelanden från Närvaro")
    for secret in ("Mona", "Hassan", "Ali", "+4670", "skolan idag", "telegram", "sms"):
        assert secret not in message.text
    assert main(["tick", "--now", "2026-11-23T15:00:00+01:00"]) == 0
    assert len(told()) == 1
    assert main(["tick", "--now", "2026-11-24T08:01:00+01:00"]) == 0
    assert len(told()) == 2
    capsys.readouterr()
    assert main(["outbox", "list", "--status", "maybe_sent", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
