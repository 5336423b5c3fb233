"""How close the dispatcher comes to the channels' ceilings, and how long a fake takes to
start: the figures tests/test_pacing.py and tests/test_fake_telegram.py keep out of their
assertions (a busy machine would fail them; a test asserts the ceilings, never the speed).

Run: python benchmarks/pacing.py [--rounds 3]

Each round, on a fresh SQLite file, against the fakes of tests/fakes:
- mixed: 94 Telegram messages, a mentor's four and two each to 45 other chats, at 30/s and
  1/s per chat: when the others' last one arrived (the ceiling allows 89/30 = 2.97 s) and
  the mentor's last (three seconds at least);
- retry_after: a 429 with retry_after 2 from the fake: how long after the refusal the
  message arrived again (2 s at least; the dispatcher wakes at the end of the wait);
- sms: 50 texts at NARVARO_SMS_RATE=20 (2.45 s at least);
- fakes: starting and stopping a FakeTelegram and a FakeTwilio.
"""

from __future__ import annotations

import argparse
import asyncio
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
from policy.pacing import Ceiling
from storage.db import make_engine, upgrade
from tests.bursts import FIRST_CHAT, add_people, enqueue, started_chats
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio


def database(folder: Path, name: str) -> Engine:
    """A fresh migrated SQLite file."""
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    return engine


async def mixed(folder: Path) -> tuple[float, float]:
    """Seconds until the others' last and the mentor's last message arrived."""
    engine = database(folder, "mixed.db")
    with FakeTelegram() as fake:
        fake.limit_rate(overall=30, per_chat=1)
        started_chats(fake, 46)
        people = add_people(engine, 46)
        enqueue(engine, people[:1], "telegram", each=4)
        enqueue(engine, people[1:], "telegram", each=2)
        settings = load_settings(telegram_token=fake.token, telegram_api_url=fake.base_url,
                                 database_url=str(engine.url))
        bot = TelegramBot(settings, engine, Clock())
        await bot.app.initialize()
        try:
            began = time.monotonic()
            await Dispatcher(engine, Clock(), {"telegram": bot}).dispatch_once()
        finally:
            await bot.app.shutdown()
        sends = fake.accepted_sends()
    engine.dispose()
    others = max(t for t, chat in sends if chat != FIRST_CHAT)
    mentor = max(t for t, chat in sends if chat == FIRST_CHAT)
    return others - began, mentor - began


async def retry_after(folder: Path) -> float:
    """Seconds from the fake's 429 (retry_after 2) to the message arriving."""
    engine = database(folder, "retry.db")
    with FakeTelegram() as fake:
        fake.limit_rate(overall=30, per_chat=0)
        started_chats(fake, 1)
        enqueue(engine, add_people(engine, 1), "telegram")
        fake.flood(FIRST_CHAT, retry_after=2)
        settings = load_settings(telegram_token=fake.token, telegram_api_url=fake.base_url,
                                 database_url=str(engine.url))
        bot = TelegramBot(settings, engine, Clock())
        bot.ceiling = Ceiling(0)
        await bot.app.initialize()
        try:
            dispatcher = Dispatcher(engine, Clock(), {"telegram": bot}, interval=30)
            await dispatcher.dispatch_once()
            runner = asyncio.create_task(dispatcher.run_forever())
            await fake.wait_until(lambda: fake.messages(FIRST_CHAT), timeout=30)
            await dispatcher.close()
            await runner
        finally:
            await bot.app.shutdown()
        calls = fake.calls("sendMessage")
    engine.dispose()
    refused = next(call for call in calls if call.status == 429)
    resent = next(call for call in calls if call.status == 200)
    return resent.time - refused.time


async def sms(folder: Path) -> float:
    """Seconds to send 50 texts at 20 a second."""
    engine = database(folder, "sms.db")
    with FakeTwilio() as fake:
        settings = load_settings(
            twilio_account_sid=fake.account_sid, twilio_auth_token=fake.auth_token,
            twilio_from="+46701740000", twilio_api_url=fake.base_url, sms_rate=20,
            database_url=str(engine.url))
        enqueue(engine, add_people(engine, 50, chats=False), "sms")
        channel = TwilioSms(settings, engine, Clock(), default_language="sv")
        await channel.start()
        try:
            began = time.monotonic()
            await Dispatcher(engine, Clock(), {"sms": channel}).dispatch_once()
            seconds = time.monotonic() - began
        finally:
            await channel.close()
    engine.dispose()
    return seconds


def fakes() -> tuple[float, float]:
    """Seconds to start and stop each fake server."""
    began = time.perf_counter()
    with FakeTelegram():
        pass
    telegram = time.perf_counter() - began
    began = time.perf_counter()
    with FakeTwilio():
        pass
    return telegram, time.perf_counter() - began


def summary(values: list[float]) -> str:
    """Median and worst of one figure over the rounds."""
    return f"median {statistics.median(values):.2f} s, worst {max(values):.2f} s"


async def main() -> None:
    """Run the rounds and print each figure's median and worst."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            others, mentor = await mixed(folder)
            figures.setdefault("telegram, the others' 90 (ceiling 2.97 s)", []).append(others)
            figures.setdefault("telegram, the mentor's 4 (3.00 s at least)", []).append(mentor)
            figures.setdefault("telegram, back after retry_after 2", []).append(
                await retry_after(folder))
            figures.setdefault("sms, 50 at 20/s (2.45 s at least)", []).append(
                await sms(folder))
            telegram, twilio = fakes()
            figures.setdefault("FakeTelegram start and stop", []).append(telegram)
            figures.setdefault("FakeTwilio start and stop", []).append(twilio)
    for name, values in figures.items():
        print(f"{name}: {summary(values)}")


if __name__ == "__main__":
    asyncio.run(main())
