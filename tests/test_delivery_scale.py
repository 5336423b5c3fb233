"""Answers overtake a burst; a crash loses nothing; several workers share one PostgreSQL.

Real `narvaro run` processes (or the runtime in this loop) against the fake Bot API,
which counts what each chat received.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage.db import make_engine, session_scope
from storage.locks import try_transaction_lock
from storage.models import AbsenceReport, OutboxMessage
from storage.outbox import claim_due, release_claims, renew_claims
from tests.bursts import NOW, add_people, enqueue, received, rows, started_chats
from tests.conftest import POSTGRES_URL, fresh_database_url
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_harness import Chat, import_roster, running_bot
from tests.workers import Worker, kill_during_burst, telegram_env

pytestmark = pytest.mark.postgresql

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")
GUARDIANS = ("+46701234501", "+46701234502", "+4741234503")


async def test_an_answer_overtakes_a_burst_of_notices(
    telegram: FakeTelegram, narvaro_env: dict[str, str], tmp_path: Path
) -> None:
    """While 600 notices go out at Telegram's ceiling, each guardian writing in a dialog is
    answered ahead of them, before the burst is through; the burst goes on, and the fake
    never had to say 429. (How soon: benchmarks/dispatch.py prints the answers' latency.)"""
    import_roster(tmp_path)
    telegram.limit_rate(overall=30, per_chat=1)
    burst = 600
    started_chats(telegram, burst)
    async with running_bot(telegram, tmp_path, NARVARO_TELEGRAM_CHAT_RATE="1") as bot:
        chats = [Chat(telegram, telegram.add_user(7001 + n, f"G{n}"), 7001 + n)
                 for n in range(len(GUARDIANS))]
        await asyncio.gather(*(chat.link(phone) for chat, phone in zip(chats, GUARDIANS,
                                                                       strict=True)))
        enqueue(bot.engine, add_people(bot.engine, burst), "telegram",
                now=bot.runtime.context.clock.now())
        bot.runtime.dispatcher.wake()
        await telegram.wait_until(lambda: sum(received(telegram, burst)) >= 60, timeout=30)
        for chat in chats:
            chat.user.send("/help")
            await chat.reply()
            # Answered while the notices queued before it still wait: it went ahead of them
            # (at the ceiling the burst takes 20 s; queued in turn it would come after).
            assert sum(received(telegram, burst)) < burst
        sent_meanwhile = sum(received(telegram, burst))
    assert sent_meanwhile < burst
    assert not [c for c in telegram.calls("sendMessage") if c.status == 429]


def test_kill_9_during_a_burst_loses_nothing_and_doubles_at_most_one_per_kill(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`narvaro run` killed -9 five times while it sends 600 notices: every chat gets its
    notice, at most one message per kill (the one in flight) arrives twice."""
    url = fresh_database_url("sqlite", tmp_path)
    engine = make_engine(url)
    burst = 600
    started_chats(telegram, burst)
    enqueue(engine, add_people(engine, burst), "telegram")
    worker = Worker(telegram_env(url, telegram, NARVARO_WORKER_ID="w1",
                                 NARVARO_TELEGRAM_RATE_LIMIT="0",
                                 NARVARO_TELEGRAM_CHAT_RATE="0"),
                    tmp_path, tmp_path / "worker.log")
    try:
        report = kill_during_burst(worker, telegram, burst, kills=5)
    finally:
        worker.kill()
    assert report.missing == 0
    assert report.duplicates <= report.kills, report
    assert {row.status for row in rows(engine)} == {"sent"}
    engine.dispose()


def two_workers_share_the_work_on_postgresql(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Two `narvaro run` on one PostgreSQL: 400 notices, each sent once, both workers
    sending; one of them polls Telegram, and the other takes over when it dies."""
    url = fresh_database_url("postgresql", tmp_path)
    engine = make_engine(url)
    burst = 400
    started_chats(telegram, burst)
    workers = [
        Worker(telegram_env(url, telegram, NARVARO_WORKER_ID=name,
                            NARVARO_TELEGRAM_RATE_LIMIT="0", NARVARO_TELEGRAM_CHAT_RATE="0"),
               tmp_path, tmp_path / f"{name}.log")
        for name in ("w1", "w2")
    ]
    try:
        for worker in workers:
            worker.start()
        enqueue(engine, add_people(engine, burst), "telegram")
        telegram.wait_for(lambda: all(received(telegram, burst)), timeout=60)
        assert not [c for c in telegram.calls("getUpdates") if c.status == 409]
        workers[0].kill()
        user = telegram.add_user(7001, "Lena")
        user.send("/start")
        telegram.wait_for(lambda: telegram.messages(7001), timeout=30)
        assert workers[1].stop() == 0
    finally:
        for worker in workers:
            worker.kill()
    assert received(telegram, burst) == [1] * burst
    with Session(engine) as session:
        split = dict(session.exec(select(OutboxMessage.claimed_by, func.count())
                                  .where(OutboxMessage.status == "sent")
                                  .group_by(OutboxMessage.claimed_by)).all())
    assert set(split) == {"w1", "w2"} and min(split.values()) >= burst // 10, split
    engine.dispose()


if POSTGRES_URL:  # like every PostgreSQL variant, there only when a database is configured
    test_two_workers_share_the_work_on_postgresql = two_workers_share_the_work_on_postgresql


def test_a_sweep_runs_in_one_worker_at_a_time(engine: Engine) -> None:
    """While one transaction holds a sweep's lock, another worker's is refused (PostgreSQL);
    SQLite has one writer anyway and grants it."""
    with session_scope(engine) as first:
        assert try_transaction_lock(first, "sweep:send_absence_notices")
        with session_scope(engine) as second:
            taken = try_transaction_lock(second, "sweep:send_absence_notices")
            assert try_transaction_lock(second, "sweep:advance_ladders")
        assert taken is (engine.dialect.name != "postgresql")
    with session_scope(engine) as third:
        assert try_transaction_lock(third, "sweep:send_absence_notices")


async def test_an_update_offered_again_after_a_crash_is_handled_once(
    telegram: FakeTelegram, narvaro_env: dict[str, str], tmp_path: Path
) -> None:
    """The bot handled "Sjuk idag" but died before confirming it to Telegram, which offers
    it again to the next start: it is recognised by its update_id and not answered again."""
    import_roster(tmp_path)
    chat = Chat(telegram, telegram.add_user(7001, "Omar"), 7001)
    async with running_bot(telegram, tmp_path):
        await chat.link("+46701234502")
        update = chat.user.send("Sjuk idag")
        receipt = await chat.reply()
    telegram.requeue(update)
    async with running_bot(telegram, tmp_path):
        # One chat's updates are handled in order: a second receipt would come first.
        thanks = await chat.say("Tack")
    assert REFERENCE.search(receipt.text) and thanks.text == "Varsågod!"
    texts = [message.text for message in telegram.messages(chat.chat_id)]
    assert texts.count(receipt.text) == 1 and telegram.unread(chat.chat_id) == 0
    assert telegram.times_handed_out(update["update_id"]) == 2
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    with Session(engine) as session:
        assert len(session.exec(select(AbsenceReport)).all()) == 1
    engine.dispose()


def test_claims_are_leased_to_a_worker(engine: Engine) -> None:
    """Another worker's live claim is left alone; a lapsed one is taken over; a worker
    starting again takes back only its own; renewing keeps a claim alive."""
    people = add_people(engine, 3)
    enqueue(engine, people, "telegram", now=NOW)
    later = NOW + timedelta(minutes=1)
    with session_scope(engine) as session:
        assert len(claim_due(session, now=later, limit=2, worker="w1")) == 2
    with session_scope(engine) as session:
        [third] = claim_due(session, now=later, worker="w2")
        assert claim_due(session, now=later, worker="w2") == []  # w1's lease still runs
    with session_scope(engine) as session:
        assert renew_claims(session, worker="w1") == 2
        taken = claim_due(session, now=later, worker="w2", lease=timedelta(0))
    assert len(taken) == 3 and {m.attempts for m in taken} == {2}  # lapsed: taken over
    with session_scope(engine) as session:
        assert release_claims(session, worker="w1") == 0
        assert release_claims(session, worker="w2") == 3
    assert {(row.status, row.claimed_by) for row in rows(engine)} == {("pending", None)}
    assert third.claimed_by == "w2"
