"""Return plans at scale: 2,000 students on plans, all at 07:15.

Run: python benchmarks/morning.py [--students 2000] [--database-url URL]
Writes a school, its students (each with their own phone) and one active plan each, then
times the morning sweep (`send_morning_messages`, as the scheduler runs it) from its start
to every message in the outbox, runs it again (nothing is due twice), and prints how long
sending them all takes at the channels' ceilings (SMS 10 per second per sender number,
Telegram 30 per second), which bounds when the last student has the message.
With --send telegram (or sms) the students have a Telegram chat (or only their phone) and
the dispatcher then really sends them all, through python-telegram-bot to the fake Bot API
enforcing Telegram's limits (or the twilio client to the fake Twilio at NARVARO_SMS_RATE),
and the time from the sweep's start until the last one is accepted is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, insert
from sqlmodel import col, select

from bot.channels.base import Channel
from bot.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.sms import TwilioSms
from bot.telegram import TelegramBot
from policy.clock import Clock
from scheduler.morning import send_morning_messages
from storage.db import make_engine, session_scope, upgrade
from storage.models import OutboxMessage, Person, ReturnPlan, School, SchoolClass, Student
from tests.bursts import FIRST_CHAT, started_chats
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

DAY = date(2026, 11, 23)  # a Monday in term
NOW = datetime(2026, 11, 23, 6, 15, 20, tzinfo=UTC)  # 07:15:20 in Stockholm
SMS_PER_SECOND, TELEGRAM_PER_SECOND = 10, 30


def generate(engine_url: str, students: int, *, chats: bool = False) -> None:
    """A school with `students` students on return plans, written in bulk (with `chats`,
    each has a Telegram chat, FIRST_CHAT + n)."""
    engine = make_engine(engine_url)
    upgrade(engine)
    with session_scope(engine) as session:
        school = School(name="Bench", country="SE", timezone="Europe/Stockholm", language="sv",
                        policy="lyngen", created_at=NOW)
        session.add(school)
        session.flush()
        klass = SchoolClass(school_id=school.id or 0, name="9A")
        session.add(klass)
        session.flush()
        session.execute(insert(Person), [
            {"name": f"Elev {n}", "language": "sv", "phone": f"+4670{n:07d}",
             "telegram_chat_id": FIRST_CHAT + n if chats else None,
             "created_at": NOW, "updated_at": NOW} for n in range(students)])
        people = list(session.execute(select(Person.id).order_by(col(Person.id))).scalars())
        session.execute(insert(Student), [
            {"school_id": school.id, "class_id": klass.id, "external_id": f"S{n}",
             "person_id": people[n]} for n in range(students)])
        ids = list(session.execute(select(Student.id).order_by(col(Student.id))).scalars())
        session.execute(insert(ReturnPlan), [
            {"student_id": student_id, "starts_on": DAY, "followup_on": date(2026, 12, 4),
             "morning_time": clock(7, 15), "status": "active", "created_at": NOW}
            for student_id in ids])
    engine.dispose()


def main() -> None:
    """Generate, run the morning sweep twice, print figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--send", choices=["none", "telegram", "sms"], default="none",
                        help="really send them all through the fake servers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        generate(url, args.students, chats=args.send == "telegram")
        engine = make_engine(url)
        began = started = time.perf_counter()
        with session_scope(engine) as session:
            queued = send_morning_messages(session, NOW)
        sweep = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(engine) as session:
            again = send_morning_messages(session, NOW)
        repeat = time.perf_counter() - started
        with session_scope(engine) as session:
            rows = session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
        if args.send != "none":
            sent, last = asyncio.run(send_all(engine, url, args.send, args.students))
            print(f"sent by {args.send}: {sent} messages; the last one accepted "
                  f"{last - began:.1f} s after the sweep began")
        engine.dispose()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"morning sweep: {queued} of {args.students} morning messages in the outbox "
              f"{sweep:.2f} s after the sweep began ({rows} rows); a second run queued "
              f"{again} in {repeat:.2f} s; peak RSS {peak / 1024:.0f} MB")
        print(f"at the channels' ceilings the last one is sent "
              f"{queued / SMS_PER_SECOND:.0f} s after the sweep by SMS "
              f"({SMS_PER_SECOND}/s per sender number), "
              f"{queued / TELEGRAM_PER_SECOND:.0f} s by Telegram ({TELEGRAM_PER_SECOND}/s)")


async def send_all(engine: Engine, url: str, channel: str, students: int) -> tuple[int, float]:
    """Send the queued messages through the real client to the fake server: (sent, the
    perf_counter instant the last one was accepted)."""
    channels: dict[str, Channel]
    if channel == "telegram":
        with FakeTelegram() as fake:
            fake.limit_rate(overall=30, per_chat=1)
            started_chats(fake, students)
            settings = load_settings(telegram_token=fake.token, telegram_api_url=fake.base_url,
                                     database_url=url)
            bot = TelegramBot(settings, engine, Clock())
            await bot.app.initialize()
            try:
                channels = {"telegram": bot}
                sent = await Dispatcher(engine, Clock(), channels).dispatch_once()
            finally:
                await bot.app.shutdown()
            refused = sum(1 for call in fake.calls("sendMessage") if call.status == 429)
            print(f"telegram: 429s provoked: {refused}")
            return sent, time.perf_counter()
    with FakeTwilio() as twilio:
        settings = load_settings(
            twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
            twilio_from="+46701740000", twilio_api_url=twilio.base_url, database_url=url)
        sms = TwilioSms(settings, engine, Clock(), default_language="sv")
        await sms.start()
        try:
            sent = await Dispatcher(engine, Clock(), {"sms": sms}).dispatch_once()
        finally:
            await sms.close()
        return sent, time.perf_counter()


if __name__ == "__main__":
    main()
