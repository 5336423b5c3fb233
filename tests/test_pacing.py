"""Delivery at the channels' ceiling: pacing, flood control, retries, maybe-sent.

The dispatcher sends through the real python-telegram-bot and twilio clients to the fake
servers, which enforce Telegram's limits (429 with retry_after) and count what arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.dispatcher import Dispatcher
from bot.pacing import NORMAL, URGENT, Lane
from bot.settings import load_settings
from bot.sms import TwilioSms
from bot.telegram import TelegramBot
from policy.clock import Clock
from policy.pacing import Ceiling, TokenBucket, backoff
from storage.db import session_scope
from storage.outbox import ANSWER, MessageKind, claim_due, enqueue_many
from tests.bursts import FIRST_CHAT, NOW, add_people, enqueue, rows, started_chats
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.postgresql

# -- the rules -----------------------------------------------------------------------------


def test_a_bucket_spaces_takes_evenly_and_saves_nothing_up() -> None:
    """At 30 a second, takes are 1/30 s apart; after an idle minute, still only one at once."""
    bucket = TokenBucket(30)
    assert bucket.wait(0.0) == 0
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(1 / 30)
    assert bucket.wait(1 / 30) == 0
    bucket.take(1 / 30)
    bucket.wait(60.0)
    bucket.take(60.0)
    assert bucket.wait(60.0) == pytest.approx(1 / 30)


def test_a_hold_is_exact() -> None:
    """A provider's "retry after 3 s" allows nothing before, one take at 3 s, then the rate."""
    bucket = TokenBucket(1)
    bucket.hold(10.0, 13.0)
    assert bucket.wait(10.0) == pytest.approx(3.0)
    assert bucket.wait(12.99) > 0
    assert bucket.wait(13.0) == 0
    bucket.take(13.0)
    assert bucket.wait(13.0) == pytest.approx(1.0)
    unlimited = TokenBucket(0)
    unlimited.hold(0.0, 2.0)
    assert unlimited.wait(1.0) == pytest.approx(1.0) and unlimited.wait(2.0) == 0


def test_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    """30 s, 60 s, 120 s…, each a random half to whole of it; never above the cap."""
    assert backoff(1, base=30, cap=3600, jitter=0.0) == 15
    assert backoff(1, base=30, cap=3600, jitter=0.999) == pytest.approx(30, abs=0.1)
    assert backoff(3, base=30, cap=3600, jitter=0.5) == pytest.approx(90)
    assert backoff(20, base=30, cap=3600, jitter=0.999) <= 3600


async def test_an_urgent_turn_overtakes_the_queue_but_not_the_ceiling() -> None:
    """Queued normal turns wait; an urgent one arriving last goes next, at the rate."""
    lane = Lane(Ceiling(rate=20))
    order: list[str] = []
    granted: list[float] = []

    async def send(name: str, priority: int) -> None:
        async with lane.turn(None, priority=priority):
            order.append(name)
            granted.append(time.monotonic())

    normal = [asyncio.create_task(send(f"n{i}", NORMAL)) for i in range(5)]
    await asyncio.sleep(0)  # every normal turn is queued (the first one granted)
    urgent = asyncio.create_task(send("answer", URGENT))
    await asyncio.gather(*normal, urgent)
    assert order[:2] == ["n0", "answer"]
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= 1 / 20 - 0.005


async def test_one_address_waits_while_others_go() -> None:
    """At one a second per address, a second message to A waits; B's goes meanwhile."""
    lane = Lane(Ceiling(rate=100, per_address=2))
    when: dict[str, list[float]] = {}

    async def send(address: str) -> None:
        async with lane.turn(address):
            when.setdefault(address, []).append(time.monotonic())

    await asyncio.gather(send("A"), send("A"), send("B"))
    assert when["A"][1] - when["A"][0] >= 0.5 - 0.005
    assert when["B"][0] < when["A"][1]


# -- through the real clients to the fakes -----------------------------------------------------


@asynccontextmanager
async def telegram_dispatcher(
    engine: Engine, fake: FakeTelegram, ceiling: Ceiling | None = None, **settings: Any
) -> AsyncIterator[Dispatcher]:
    """A dispatcher sending through the real Telegram channel (no polling)."""
    values = load_settings(telegram_token=fake.token, telegram_api_url=fake.base_url,
                           database_url=str(engine.url), **settings)
    clock = Clock()
    bot = TelegramBot(values, engine, clock)
    if ceiling is not None:
        bot.ceiling = ceiling
    await bot.app.initialize()
    try:
        yield Dispatcher(engine, clock, {"telegram": bot}, interval=0.05)
    finally:
        await bot.app.shutdown()


async def test_telegram_at_its_ceiling_never_above(engine: Engine, telegram: FakeTelegram) -> None:
    """94 messages (two each to 45 chats, and a mentor's four prompts) go out at 30 a
    second at most, one a second per chat at most (the mentor's four a second apart,
    without holding anyone else's up), and the fake's flood control (30/s, 1/s per chat)
    never has to answer 429. (How close to the ceiling they go: benchmarks/pacing.py.)"""
    telegram.limit_rate(overall=30, per_chat=1)
    started_chats(telegram, 46)
    people = add_people(engine, 46)
    enqueue(engine, people[:1], "telegram", each=4)
    enqueue(engine, people[1:], "telegram", each=2)
    async with telegram_dispatcher(engine, telegram) as dispatcher:
        assert await dispatcher.dispatch_once() == 94
    statuses = [call.status for call in telegram.calls("sendMessage")]
    assert statuses.count(429) == 0 and len(statuses) == 94
    assert telegram.max_sends_in(0.95) <= 30
    # The mentor's four, each at least 0.95 s after the one before, as every chat's.
    assert max(telegram.max_sends_in(0.95, FIRST_CHAT + n) for n in range(46)) == 1
    assert [m.text for m in telegram.messages(FIRST_CHAT)] == [
        f"Meddelande {n}" for n in range(4)]
    # Nobody else's message waits while the mentor's wait their second: in each gap
    # between two of the mentor's, the others' go on, unless all of them are sent.
    sends = telegram.accepted_sends()
    mentor = [t for t, chat in sends if chat == FIRST_CHAT]
    others = [t for t, chat in sends if chat != FIRST_CHAT]
    for before, after in itertools.pairwise(mentor):
        if any(t > after for t in others):
            assert any(before < t < after for t in others), (before, after)
    assert {row.status for row in rows(engine)} == {"sent"}


async def test_overshooting_gets_429_and_waits_exactly_as_told(
    engine: Engine, telegram: FakeTelegram
) -> None:
    """Without pacing the fake answers 429: the message waits retry_after (no attempt lost),
    its chat's later message waits behind it, and other chats go on."""
    telegram.limit_rate(overall=30, per_chat=0)
    started_chats(telegram, 3)
    people = add_people(engine, 3)
    telegram.flood(FIRST_CHAT, retry_after=2)
    enqueue(engine, people, "telegram", each=2)
    async with telegram_dispatcher(engine, telegram, Ceiling(0)) as dispatcher:
        dispatcher.interval = 30  # only the wake at the end of the wait brings it back
        await dispatcher.dispatch_once()
        first = {row.dedupe_key: row for row in rows(engine)}
        flooded = first[f"test:{people[0]}:0"]
        assert (flooded.status, flooded.attempts) == ("pending", 0)
        assert first[f"test:{people[0]}:1"].status == "pending"  # behind it, in order
        assert first[f"test:{people[1]}:1"].status == "sent"
        runner = asyncio.create_task(dispatcher.run_forever())
        await telegram.wait_until(lambda: len(telegram.messages(FIRST_CHAT)) == 2, timeout=10)
        await dispatcher.close()
        await runner
    calls = [c for c in telegram.calls("sendMessage") if c.params.get("chat_id") == FIRST_CHAT]
    refused, resent = calls[0], next(c for c in calls if c.status == 200)
    assert refused.status == 429
    # Not before the wait is over; and it was the end of the wait that brought the
    # dispatcher back, not its 30 s interval (the resend came within the 10 s waited).
    assert resent.time - refused.time >= 2.0
    assert [m.text for m in telegram.messages(FIRST_CHAT)] == ["Meddelande 0", "Meddelande 1"]


async def test_a_server_error_is_retried_later_with_backoff(
    engine: Engine, telegram: FakeTelegram
) -> None:
    """A 502 leaves the message pending, due again in 15-30 s (30 s with jitter)."""
    started_chats(telegram, 1)
    enqueue(engine, add_people(engine, 1), "telegram")
    telegram.fail_next(FIRST_CHAT, 502, "Bad Gateway")
    async with telegram_dispatcher(engine, telegram) as dispatcher:
        before = dispatcher.clock.now()
        assert await dispatcher.dispatch_once() == 0
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert before + timedelta(seconds=15) <= row.not_before <= before + timedelta(seconds=31)


async def test_a_timeout_after_sending_is_maybe_sent_and_not_repeated(
    engine: Engine, telegram: FakeTelegram, narvaro_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Telegram took the message but its answer came too late: the row is `maybe_sent`,
    never sent again, and listed by `narvaro outbox list --status maybe_sent`."""
    started_chats(telegram, 1)
    enqueue(engine, add_people(engine, 1), "telegram")
    telegram.stall_next(FIRST_CHAT, 1.5)
    async with telegram_dispatcher(engine, telegram, telegram_timeout_seconds=0.3) as dispatcher:
        assert await dispatcher.dispatch_once() == 0
        assert await dispatcher.dispatch_once() == 0
    [row] = rows(engine)
    assert row.status == "maybe_sent" and "TimedOut" in (row.last_error or "")
    assert len(telegram.messages(FIRST_CHAT)) == 1
    capsys.readouterr()
    assert main(["outbox", "list", "--status", "maybe_sent", "--json"]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == [row.id]
    # A person asked the guardian: it did arrive. Settled, never sent again; a second word
    # on it is refused.
    assert main(["outbox", "settle", str(row.id), "--arrived"]) == 0
    assert main(["outbox", "settle", str(row.id), "--not-arrived"]) == 2
    assert [r.status for r in rows(engine)] == ["sent"]


async def test_a_maybe_sent_message_that_never_arrived_goes_again(
    engine: Engine, telegram: FakeTelegram, narvaro_env: dict[str, str],
) -> None:
    """Settled as not arrived, the message is pending again and the dispatcher sends it."""
    started_chats(telegram, 1)
    enqueue(engine, add_people(engine, 1), "telegram")
    telegram.stall_next(FIRST_CHAT, 2.0)
    # The second send must be answered within the timeout: a second, on a busy machine.
    async with telegram_dispatcher(engine, telegram, telegram_timeout_seconds=1.0) as dispatcher:
        assert await dispatcher.dispatch_once() == 0
        [row] = rows(engine)
        assert main(["outbox", "settle", str(row.id), "--not-arrived"]) == 0
        assert await dispatcher.dispatch_once() == 1
    assert [r.status for r in rows(engine)] == ["sent"]


async def test_sms_at_the_configured_rate(engine: Engine, twilio: FakeTwilio) -> None:
    """NARVARO_SMS_RATE=20: 50 texts never 21 in a second, so they take 2.45 s at least
    (how close to that they come: benchmarks/pacing.py)."""
    settings = load_settings(
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from="+46701740000", twilio_api_url=twilio.base_url, sms_rate=20,
        database_url=str(engine.url))
    enqueue(engine, add_people(engine, 50, chats=False), "sms")
    sms = TwilioSms(settings, engine, Clock(), default_language="sv")
    await sms.start()
    try:
        dispatcher = Dispatcher(engine, Clock(), {"sms": sms})
        started = time.monotonic()
        assert await dispatcher.dispatch_once() == 50
        elapsed = time.monotonic() - started
    finally:
        await sms.close()
    times = sorted(r.at for r in twilio.requests() if r.method == "POST")
    most = max(sum(1 for t in times if start <= t < start + 0.95) for start in times)
    assert len(times) == 50 and most <= 20
    # A floor, which a busy machine cannot break: at 20 a second, evenly, not in bursts.
    assert elapsed >= 49 / 20 * 0.97


async def test_answers_are_claimed_first(engine: Engine) -> None:
    """An answer waiting in the outbox (e.g. retried) is claimed before older notices."""
    people = add_people(engine, 3)
    enqueue(engine, people, "webchat", now=NOW)
    with session_scope(engine) as session:
        enqueue_many(session, [{"dedupe_key": "answer", "kind": MessageKind.REPLY.value,
                                "recipient_id": people[0],
                                "channel": "webchat", "language": "sv", "text": "Svar",
                                "priority": ANSWER}], now=NOW + timedelta(minutes=1))
    with session_scope(engine) as session:
        claimed = claim_due(session, now=NOW + timedelta(minutes=2), limit=2, worker="w")
    assert [m.dedupe_key for m in claimed] == ["answer", f"test:{people[0]}:0"]


async def test_the_fake_shows_an_unpaced_sender_overshooting(
    engine: Engine, telegram: FakeTelegram
) -> None:
    """Without the lane's ceiling, 30 quick sends go over a limit of 10 a second: the fake
    answers 429; once two chats are refused the whole channel waits as told (the limit is
    the bot's, not theirs), and the refused messages still go out once."""
    telegram.limit_rate(overall=10, per_chat=1)
    started_chats(telegram, 30)
    enqueue(engine, add_people(engine, 30), "telegram")
    async with telegram_dispatcher(engine, telegram, Ceiling(0)) as dispatcher:
        await dispatcher.dispatch_once()
        refused = [call for call in telegram.calls("sendMessage") if call.status == 429]
        # Two refusals a second, then a pause; without the pause every send over the limit
        # would be refused (about 20 of 30).
        assert 1 <= len(refused) <= 6
        runner = asyncio.create_task(dispatcher.run_forever())
        await telegram.wait_until(
            lambda: all(telegram.messages(FIRST_CHAT + n) for n in range(30)), timeout=30)
        await dispatcher.close()
        await runner
    assert all(len(telegram.messages(FIRST_CHAT + n)) == 1 for n in range(30))
    assert {row.status for row in rows(engine)} == {"sent"}


async def test_an_sms_timeout_after_sending_is_maybe_sent(
    engine: Engine, twilio: FakeTwilio
) -> None:
    """Twilio created the message but answered too late: `maybe_sent`, not sent again."""
    settings = load_settings(
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from="+46701740000", twilio_api_url=twilio.base_url,
        twilio_timeout_seconds=0.3, database_url=str(engine.url))
    enqueue(engine, add_people(engine, 1, chats=False), "sms")
    twilio.stall_next("+46701000000", 1.0)
    sms = TwilioSms(settings, engine, Clock(), default_language="sv")
    await sms.start()
    try:
        dispatcher = Dispatcher(engine, Clock(), {"sms": sms})
        assert await dispatcher.dispatch_once() == 0
        assert await dispatcher.dispatch_once() == 0
    finally:
        await sms.close()
    [row] = rows(engine)
    assert row.status == "maybe_sent" and "after sending" in (row.last_error or "")
    assert len(twilio.messages("+46701000000")) == 1
