"""Delivery at the channels' ceiling, answers during a burst, and kill -9 during a burst.

Run: python benchmarks/dispatch.py [--telegram 600] [--sms 100] [--burst 5000]
     [--answers 20] [--crash 1000] [--kills 5]

Everything on loopback, SQLite files, against the fake servers of tests/fakes:
- Telegram: the dispatcher sends --telegram messages to as many chats through the real
  python-telegram-bot to the fake Bot API, which enforces Telegram's 30/s and 1/s per
  chat with 429 + retry_after: achieved messages/s against the ceiling, 429s, the most
  the fake accepted in any one second.
- SMS: --sms texts through the real twilio client at the default NARVARO_SMS_RATE (10/s).
- Answers: the runtime (`narvaro run` in this process) with a --burst of notices queued;
  guardians write /help --answers times during it: the time from their message to the
  answer's arrival at the fake (p50, p99, max), and how far the burst got meanwhile.
- Crash: a real `narvaro run` process killed -9 --kills times while it sends --crash
  notices (unpaced): notices missing, and duplicates (at most one per kill allowed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine

from bot.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.sms import TwilioSms
from bot.telegram import TelegramBot
from policy.clock import Clock
from storage.db import make_engine, upgrade
from tests.bursts import add_people, enqueue, received, started_chats
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import Chat, import_roster, running
from tests.workers import Worker, kill_during_burst, telegram_env

GUARDIANS = ("+46701234501", "+46701234502", "+4741234503", "+4520123404", "+447911123456")


def database(folder: Path, name: str) -> tuple[str, Engine]:
    """A fresh migrated SQLite file."""
    url = f"sqlite:///{folder / name}"
    engine = make_engine(url)
    upgrade(engine)
    return url, engine


async def telegram_ceiling(folder: Path, count: int) -> None:
    """Messages/s to `count` chats through PTB against the rate-enforcing fake."""
    url, engine = database(folder, "telegram.db")
    with FakeTelegram() as fake:
        fake.limit_rate(overall=30, per_chat=1)
        started_chats(fake, count)
        enqueue(engine, add_people(engine, count), "telegram")
        settings = load_settings(telegram_token=fake.token, telegram_api_url=fake.base_url,
                                 database_url=url)
        bot = TelegramBot(settings, engine, Clock())
        await bot.app.initialize()
        try:
            dispatcher = Dispatcher(engine, Clock(), {"telegram": bot})
            began = time.perf_counter()
            sent = await dispatcher.dispatch_once()
            seconds = time.perf_counter() - began
        finally:
            await bot.app.shutdown()
        refused = sum(1 for call in fake.calls("sendMessage") if call.status == 429)
        rate = (sent - 1) / seconds
        print(f"telegram: {sent} messages in {seconds:.2f} s = {rate:.1f}/s of a 30/s ceiling "
              f"({100 * rate / 30:.1f} %); 429s: {refused}; most accepted in any second: "
              f"{fake.max_sends_in(1.0)}")
    engine.dispose()


async def sms_ceiling(folder: Path, count: int) -> None:
    """Texts/s through twilio at the default NARVARO_SMS_RATE."""
    url, engine = database(folder, "sms.db")
    with FakeTwilio() as fake:
        settings = load_settings(
            twilio_account_sid=fake.account_sid, twilio_auth_token=fake.auth_token,
            twilio_from="+46701740000", twilio_api_url=fake.base_url, database_url=url)
        enqueue(engine, add_people(engine, count, chats=False), "sms")
        sms = TwilioSms(settings, engine, Clock(), default_language="sv")
        await sms.start()
        try:
            dispatcher = Dispatcher(engine, Clock(), {"sms": sms})
            began = time.perf_counter()
            sent = await dispatcher.dispatch_once()
            seconds = time.perf_counter() - began
        finally:
            await sms.close()
        times = sorted(r.at for r in fake.requests() if r.method == "POST")
        most = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        ceiling = settings.sms_rate
        rate = (sent - 1) / seconds
        print(f"sms: {sent} texts in {seconds:.2f} s = {rate:.1f}/s of a {ceiling:g}/s ceiling "
              f"({100 * rate / ceiling:.1f} %); most in any second: {most}")
    engine.dispose()


async def answers_during_burst(folder: Path, burst: int, answers: int) -> None:
    """Answer latency for guardians writing while `burst` notices wait to go out."""
    url, engine = database(folder, "answers.db")
    saved = dict(os.environ)
    os.environ.update(NARVARO_DATABASE_URL=url, NARVARO_LOG_LEVEL="WARNING",
                      NARVARO_CLOCK_START="2026-11-23T08:00:00+01:00")
    try:
        import_roster(folder)
        with FakeTelegram() as fake:
            fake.limit_rate(overall=30, per_chat=1)
            started_chats(fake, burst)
            async with running({"NARVARO_TELEGRAM_TOKEN": fake.token,
                                "NARVARO_TELEGRAM_API_URL": fake.base_url,
                                "NARVARO_TELEGRAM_CHAT_RATE": "1",
                                "NARVARO_WEBCHAT": "0"}) as runtime:
                chats = [Chat(fake, fake.add_user(7001 + n, f"G{n}"), 7001 + n)
                         for n in range(len(GUARDIANS))]
                await asyncio.gather(*(chat.link(phone) for chat, phone in
                                       zip(chats, GUARDIANS, strict=True)))
                enqueue(engine, add_people(engine, burst), "telegram",
                        now=runtime.context.clock.now())
                runtime.dispatcher.wake()
                await fake.wait_until(lambda: sum(received(fake, burst)) >= 30, timeout=30)
                latencies = []
                for n in range(answers):
                    chat = chats[n % len(chats)]
                    asked = time.time()
                    chat.user.send("/help")
                    await chat.reply(wait=30)
                    answered = [c for c in fake.calls("sendMessage") if c.status == 200
                                and c.params.get("chat_id") == chat.chat_id][-1]
                    latencies.append(answered.time - asked)
                    await asyncio.sleep(0.3)  # a person's pace: answers spread over the burst
                meanwhile = sum(received(fake, burst))
            refused = sum(1 for call in fake.calls("sendMessage") if call.status == 429)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"answers during a {burst}-notice burst: {len(latencies)} answers, "
          f"p50 {1000 * statistics.median(latencies):.0f} ms, p99 {1000 * p99:.0f} ms, "
          f"max {1000 * latencies[-1]:.0f} ms; {meanwhile} notices sent meanwhile; "
          f"429s: {refused}")
    engine.dispose()


def crash(folder: Path, burst: int, kills: int) -> None:
    """kill -9 a real `narvaro run` repeatedly during a burst; count what arrived."""
    url, engine = database(folder, "crash.db")
    with FakeTelegram() as fake:
        started_chats(fake, burst)
        enqueue(engine, add_people(engine, burst), "telegram")
        worker = Worker(telegram_env(url, fake, NARVARO_WORKER_ID="w1",
                                     NARVARO_TELEGRAM_RATE_LIMIT="0",
                                     NARVARO_TELEGRAM_CHAT_RATE="0"),
                        folder, folder / "crash.log")
        try:
            report = kill_during_burst(worker, fake, burst, kills=kills, timeout=300)
        finally:
            worker.kill()
    print(f"crash: {burst} notices, kill -9 x{report.kills}: {report.missing} missing, "
          f"{report.duplicates} duplicates (at most {report.kills} allowed), "
          f"{report.seconds:.1f} s with restarts")
    engine.dispose()


async def main(arguments: argparse.Namespace) -> None:
    """Run each measurement and print its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await telegram_ceiling(folder, arguments.telegram)
        await sms_ceiling(folder, arguments.sms)
        await answers_during_burst(folder, arguments.burst, arguments.answers)
        crash(folder, arguments.crash, arguments.kills)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", type=int, default=600)
    parser.add_argument("--sms", type=int, default=100)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--crash", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
