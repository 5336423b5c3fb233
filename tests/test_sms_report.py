"""Guardians report absence by plain SMS: signed Twilio webhooks in, the real twilio client out.

The clock starts on Monday 23 November 2026, 08:00 in Stockholm. Every text
reaches the bot as Twilio posts it, signed with twilio's RequestValidator;
every answer leaves through the real twilio client to the fake REST server.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from bot.app import Runtime
from storage.db import make_engine
from storage.models import AbsenceReport, OutboxMessage, Person, StaffTask
from tests.fakes.twilio_api import FakeTwilio, SentSms
from tests.telegram_harness import MENTOR_PHONE, free_port, import_roster, running, until

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")
SCHOOL_NUMBER = "+46701740000"


@pytest.fixture
def roster(narvaro_env: dict[str, str], tmp_path: Path) -> Path:
    """The transcript roster, imported through the real command."""
    import_roster(tmp_path)
    return tmp_path


@pytest.fixture
def db(narvaro_env: dict[str, str]) -> Iterator[Engine]:
    """The bot's database, opened separately to check what it holds."""
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


@dataclass
class SmsBot:
    """The running bot with SMS, and where Twilio reaches it."""

    runtime: Runtime
    twilio: FakeTwilio
    public_url: str

    def phone(self, number: str) -> Phone:
        """A handset texting the school's number."""
        return Phone(self, number)


@dataclass
class Phone:
    """Someone texting the bot: write, read the answer."""

    bot: SmsBot
    number: str

    async def post(self, body: str, **options: object) -> httpx.Response:
        """Twilio posts this text to the bot (signed unless told otherwise)."""
        return await self.bot.twilio.asms_to_bot(
            f"{self.bot.public_url}/twilio/sms", from_=self.number, to=SCHOOL_NUMBER,
            body=body, **options,  # type: ignore[arg-type]
        )

    async def say(self, body: str) -> str:
        """Text `body` and wait for the answer."""
        response = await self.post(body)
        assert response.status_code == 200, response.text
        return (await self.reply()).body

    async def reply(self) -> SentSms:
        """The next SMS the bot sends to this number."""
        return await self.bot.twilio.next_message(self.number, timeout=30)


@asynccontextmanager
async def sms_bot(twilio: FakeTwilio, **env: str) -> AsyncIterator[SmsBot]:
    """The runtime with Twilio pointed at the fake, reachable at a loopback public URL."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with running({
        "NARVARO_HTTP_PORT": str(port), "NARVARO_PUBLIC_URL": public,
        "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token, "NARVARO_TWILIO_FROM": SCHOOL_NUMBER,
        "NARVARO_TWILIO_API_URL": twilio.base_url, **env,
    }) as runtime:
        yield SmsBot(runtime, twilio, public)


def outbox(db: Engine, phone: str) -> list[OutboxMessage]:
    """Every message queued for the person with this number."""
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).join(
            Person, col(Person.id) == OutboxMessage.recipient_id).where(
            col(Person.phone) == phone)))


def settled(db: Engine) -> bool:
    """Whether every queued message has been sent, and Twilio's final word recorded."""
    with Session(db) as session:
        # "sent" is not final here: every test's messages get Twilio's final status.
        return not session.exec(select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "sending", "sent"])  # type: ignore[attr-defined]
        )).first()


def status_of(db: Engine, dedupe_key: str) -> str | None:
    """The status of one outbox message."""
    with Session(db) as session:
        return session.exec(select(OutboxMessage.status).where(
            OutboxMessage.dedupe_key == dedupe_key)).first()


def reports(db: Engine) -> list[AbsenceReport]:
    """Every stored report."""
    with Session(db) as session:
        return list(session.exec(select(AbsenceReport).order_by(col(AbsenceReport.id))))


async def test_forged_and_replayed_webhooks(twilio: FakeTwilio, roster: Path, db: Engine) -> None:
    """No or a wrong signature: 403 and nothing done. The same MessageSid twice: one answer."""
    async with sms_bot(twilio) as bot:
        omar = bot.phone("+46701234502")
        assert (await omar.post("Ali sjuk idag", signature=None)).status_code == 403
        forged = await omar.post("Ali sjuk idag", signature="bm90IGEgc2lnbmF0dXJl")
        assert forged.status_code == 403
        first = await omar.post("Ali sjuk idag", message_sid="SM" + "1" * 32,
                          idempotency_token="retry-1")
        again = await omar.post("Ali sjuk idag", message_sid="SM" + "1" * 32,
                          idempotency_token="retry-1")
        assert (first.status_code, again.status_code) == (200, 200)
        assert "<Response" in first.text
        # Each webhook is handled before it is answered: one answer was ever queued.
        assert len(outbox(db, omar.number)) == 1
        await omar.reply()
        await until(lambda: settled(db))
    assert len(twilio.messages("+46701234502")) == 1
    assert len(reports(db)) == 1  # the signed text, recorded once


async def test_an_unknown_number_gets_one_neutral_answer_a_day(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """A stranger learns nothing: one short answer, then silence for the day. It is in the
    language their number's country suggests (a Danish number reads Danish), else the
    installation's."""
    async with sms_bot(twilio) as bot:
        stranger = bot.phone("+46709999999")
        answer = await stranger.say("Ali Hassan sjuk idag")
        assert "Ali" not in answer and "Hassan" not in answer
        assert answer.startswith("Det här numret är inte registrerat")
        assert (await stranger.post("Hallå? Sara?")).status_code == 200
        danish = bot.phone("+4520123456")
        assert await danish.say("Emil er syg") == (
            "Dette nummer er ikke registreret hos Närvaro. Kontakt skolen.")
        await until(lambda: settled(db))
    assert len(twilio.messages("+46709999999")) == 1
    assert reports(db) == []
    with Session(db) as session:
        rows = session.exec(select(OutboxMessage)).all()
        # Sent and given up by the fake's status: the strangers' numbers are not kept.
        assert [(row.recipient_id, row.address, row.status) for row in rows] == [
            (None, None, "delivered")] * 2


async def test_an_undelivered_sms_makes_the_mentor_call(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """Twilio reports 30003: the number is marked unreachable; the mentor gets a task."""
    twilio.set_outcome("+46701234502", "undelivered", error_code=30003)
    async with sms_bot(twilio) as bot:
        omar = bot.phone("+46701234502")
        await omar.say("Ali sjuk idag")
        task_sms = await bot.twilio.next_message(MENTOR_PHONE, timeout=30)
        assert task_sms.body.startswith("Kunde inte nå Omar Hassan, vårdnadshavare till Ali")
        assert "+46701234502" in task_sms.body  # the mentor needs the number to call
    with Session(db) as session:
        omar_person = session.exec(select(Person).where(Person.phone == omar.number)).one()
        assert omar_person.sms_unreachable_at is not None
        [task] = session.exec(select(StaffTask)).all()
        assert task.kind == "call_guardian"
        [answer] = session.exec(select(OutboxMessage).where(
            OutboxMessage.recipient_id == omar_person.id)).all()
        assert (answer.status, answer.provider_status, answer.error_code) == (
            "failed", "undelivered", "30003")


async def test_a_delivered_sms_is_recorded_and_an_opted_out_number_is_marked(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """Delivered → stored on the row; Twilio's 21610 at sending → the guardian is opted out."""
    async with sms_bot(twilio) as bot:
        omar = bot.phone("+46701234502")
        await omar.say("Ali sjuk idag")
        await twilio.wait_callbacks(2, timeout=30)
        twilio.fail_next("+46701234502", 21610)
        assert (await omar.post("1")).status_code == 200
        await until(lambda: settled(db))
    with Session(db) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        assert (rows[0].status, rows[0].provider_status) == ("delivered", "delivered")
        assert rows[1].last_error == "recipient opted out (21610)"
        person = session.exec(select(Person).where(Person.phone == omar.number)).one()
        assert person.sms_opted_out_at is not None


async def test_a_messaging_service_sends_and_tracks(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """NARVARO_TWILIO_FROM=MG…: sent through the service, with a status callback URL."""
    service = "MG" + "a" * 32
    async with sms_bot(twilio, NARVARO_TWILIO_FROM=service) as bot:
        omar = bot.phone("+46701234502")
        await omar.say("Ali sjuk idag")
        [sent] = twilio.messages(omar.number)
        assert sent.messaging_service_sid == service
        assert sent.status_callback == f"{bot.public_url}/twilio/status"


async def test_oversized_unsigned_and_late_status_webhooks(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """An oversized body is refused with 413 unread; a status that arrives after the final
    one does not overwrite it."""
    async with sms_bot(twilio) as bot, httpx.AsyncClient(base_url=bot.public_url) as client:
        big = await client.post("/twilio/sms", content=b"Body=" + b"x" * 70_000,
                                headers={"X-Twilio-Signature": "c2lnbmF0dXJl",
                                         "Content-Type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413
        unsigned = await client.post("/twilio/status", data={"MessageSid": "SMx"})
        assert unsigned.status_code == 403
        omar = bot.phone("+46701234502")
        await omar.say("Ali sjuk idag")
        await until(lambda: settled(db))
        [answer] = outbox(db, omar.number)
        late = {"MessageSid": answer.provider_ref or "", "MessageStatus": "sent",
                "AccountSid": twilio.account_sid}
        signature = RequestValidator(twilio.auth_token).compute_signature(
            f"{bot.public_url}/twilio/status", late)
        response = await client.post("/twilio/status", data=late,
                                     headers={"X-Twilio-Signature": signature})
        assert response.status_code == 204
    [answer] = outbox(db, "+46701234502")
    assert (answer.status, answer.provider_status) == ("delivered", "delivered")


async def test_a_number_that_texts_again_is_reachable_again(
    twilio: FakeTwilio, roster: Path, db: Engine
) -> None:
    """After 30003 the number is marked unreachable; once the guardian texts from it and the
    answer is delivered, texts go to it again."""
    twilio.set_outcome("+46701234502", "undelivered", error_code=30003)
    async with sms_bot(twilio) as bot:
        omar = bot.phone("+46701234502")
        await omar.say("Ali sjuk idag")
        await until(lambda: unreachable(db, omar.number))
        twilio.set_outcome(omar.number, "delivered")
        await omar.say("AVBRYT")
        await until(lambda: settled(db))
        assert not unreachable(db, omar.number)


def unreachable(db: Engine, phone: str) -> bool:
    """Whether texts to this number are marked as not getting through."""
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        return person.sms_unreachable_at is not None
