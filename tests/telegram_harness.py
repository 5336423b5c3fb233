"""The real Närvaro runtime (PTB over HTTP) against the fake Bot API, for transcript tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from unittest.mock import patch

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobEvent
from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from bot.app import Runtime
from bot.cli import main
from bot.context import build_context
from bot.settings import load_settings
from storage.models import OutboxMessage
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.ports import free_port
from tests.rosters import students, write

MENTOR_PHONE = "+46701112233"
STAFF = f"""school,name,phone,role,language
Norrskolan,Anna Mentor,{MENTOR_PHONE},mentor,sv
Norrskolan,Rut Rektor,+46701112234,principal,sv
"""
#: One guardian per language with one child; a Swedish family with two children and two
#: guardians; an adult student.
ROSTER = students(
    "Norrskolan,7A,N001,Ali Hassan,sv,,no,Lena Hassan,+46701234501,sv,+46701112233",
    "Norrskolan,7A,N001,Ali Hassan,sv,,no,Omar Hassan,+46701234502,sv,+46701112233",
    "Norrskolan,7A,N002,Sara Hassan,sv,,no,Lena Hassan,+46701234501,sv,+46701112233",
    "Norrskolan,7A,N003,Noor Berg,nb,,no,Kari Berg,+4741234503,nb,+46701112233",
    "Norrskolan,7A,N004,Emil Holm,da,,no,Mette Holm,+4520123404,da,+46701112233",
    "Norrskolan,7A,N005,Adam Smith,en,,no,John Smith,+447911123456,en,+46701112233",
    "Norrskolan,8B,N006,Vera Lind,sv,+46701234506,yes,,,,+46701112233",
)
#: The guardian (name, phone) writing in each language, each with one child.
GUARDIANS = {
    "sv": ("Omar Hassan", "+46701234502"),
    "nb": ("Kari Berg", "+4741234503"),
    "da": ("Mette Holm", "+4520123404"),
    "en": ("John Smith", "+447911123456"),
}


#: How long a test waits for something the bot does before it fails: far longer than it
#: takes, so that a machine busy with other work does not fail a test (it costs nothing
#: when the test passes).
WAIT = 30.0
#: How long the runtime may take to start.
STARTUP = 60.0


async def until(condition: Callable[[], bool], seconds: float = WAIT) -> None:
    """Wait until `condition()` holds (checked every 20 ms); fail after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)



async def settled(runtime: Runtime, sweeps: int = 2) -> None:
    """Wait until the scheduler has finished `sweeps` more rounds of every sweep (the first
    may have begun before) and the dispatcher has handed on everything due: the point at
    which what the bot has not sent, it would not send at this time."""
    loop = asyncio.get_running_loop()
    finished = [0]

    def count(_event: JobEvent) -> None:
        loop.call_soon_threadsafe(lambda: finished.__setitem__(0, finished[0] + 1))

    runtime.scheduler.add_listener(count, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        await until(lambda: finished[0] >= sweeps)
    finally:
        runtime.scheduler.remove_listener(count)
    await until(lambda: not _due(runtime))


def _due(runtime: Runtime) -> bool:
    now = runtime.context.clock.now()
    with Session(runtime.context.engine) as session:
        return session.exec(select(OutboxMessage.id).where(or_(
            col(OutboxMessage.status) == "sending",
            and_(col(OutboxMessage.status) == "pending", col(OutboxMessage.not_before) <= now),
        )).limit(1)).first() is not None


class Chat:
    """A Telegram user talking to the running bot: write, tap, read the answer."""

    def __init__(self, fake: FakeTelegram, user: FakeUser, user_id: int) -> None:
        self.fake = fake
        self.user = user
        self.chat_id = user_id

    async def reply(self, wait: float = WAIT) -> BotMessage:
        """The bot's next message in this chat."""
        return await self.fake.next_message(self.chat_id, timeout=wait)

    async def say(self, text: str) -> BotMessage:
        """Write `text` and wait for the answer."""
        self.user.send(text)
        return await self.reply()

    async def tap(self, label: str) -> BotMessage:
        """Tap the button `label` on the latest message and wait for the answer."""
        self.user.tap(label)
        return await self.reply()

    async def share_contact(self, phone: str, *, user_id: int | None = None) -> BotMessage:
        """Share a contact (one's own unless `user_id` says otherwise) and wait."""
        if user_id is None:
            self.user.share_contact(phone)
        else:
            self.user.share_contact(phone, user_id=user_id)
        return await self.reply()

    async def link(self, phone: str) -> BotMessage:
        """/start and share one's own number: the linked welcome."""
        welcome = await self.say("/start")
        assert welcome.request_contact
        return await self.share_contact(phone)


class Harness:
    """The running bot, its database and the fake Telegram."""

    def __init__(self, fake: FakeTelegram, runtime: Runtime, tmp_path: Path) -> None:
        self.fake = fake
        self.runtime = runtime
        self.tmp_path = tmp_path
        self._next_user = 5000

    @property
    def engine(self) -> Engine:
        """The database the bot uses."""
        return self.runtime.context.engine

    def chat(self, *, language: str | None = "sv", name: str = "Tester") -> Chat:
        """A new Telegram user with `language` set in their app."""
        self._next_user += 1
        user = self.fake.add_user(self._next_user, name, language_code=language)
        return Chat(self.fake, user, self._next_user)


def import_roster(tmp_path: Path, roster: str = ROSTER, staff: str = STAFF) -> None:
    """Import a roster through the real command."""
    code = main([
        "roster", "import", "--students", write(tmp_path, "students.csv", roster),
        "--staff", write(tmp_path, "staff.csv", staff),
    ])
    assert code == 0


@asynccontextmanager
async def running(env: dict[str, str]) -> AsyncIterator[Runtime]:
    """`narvaro run`'s runtime, in this event loop, on the NARVARO_* environment plus `env`."""
    # One message a second per chat would make each exchange of a transcript wait a second
    # (a person takes longer than that to answer); the pacing tests turn it on.
    values = {"NARVARO_HTTP_PORT": str(free_port()), "NARVARO_DEMO": "0",
              "NARVARO_DISPATCH_INTERVAL_SECONDS": "0.2", "NARVARO_TELEGRAM_CHAT_RATE": "0",
              **env}
    with patch.dict(os.environ, values):
        runtime = Runtime(build_context(load_settings()))
    task = asyncio.create_task(runtime.run())
    try:
        started = asyncio.create_task(runtime.started.wait())
        await asyncio.wait([started, task], timeout=STARTUP, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            started.cancel()
            task.result()  # it failed to start: raise why
        assert runtime.started.is_set(), f"the bot did not start within {STARTUP} s"
        yield runtime
    finally:
        runtime.stop()
        await asyncio.wait_for(task, timeout=30)


@asynccontextmanager
async def running_bot(
    fake: FakeTelegram, tmp_path: Path, **env: str
) -> AsyncIterator[Harness]:
    """The runtime with Telegram pointed at the fake Bot API."""
    async with running({
        "NARVARO_TELEGRAM_TOKEN": fake.token, "NARVARO_TELEGRAM_API_URL": fake.base_url, **env,
    }) as runtime:
        yield Harness(fake, runtime, tmp_path)
