"""Store first, handle after: inbound texts go to the intake (`storage.intake`) before they
are handled, and one task handles them in the order they came.

The webhook answers once the text is stored, and normally once it is handled too: it
waits up to SETTLE seconds for that, unless texts are already waiting for a busy
database. When the database is busy for longer, say a roster import holds SQLite's write
lock, the text waits in the intake and is handled as soon as the database is free; its
sender then gets the answer. A locked or unreachable database is waited out, never
answered with "not saved"; only a text that fails to be handled MAX_ATTEMPTS times for
another reason is dropped, with an apology to its sender.

Storing uses a thread of its own: the shared pool's threads may all be waiting for the
database, and a text must never queue behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine

from policy.clock import Clock
from storage.db import database_busy, session_scope
from storage.intake import attempt_failed, handled, intake_engine, store, waiting
from storage.models import IntakeMessage

log = logging.getLogger(__name__)
#: How long a webhook waits for its text to be handled before answering anyway (it is
#: stored by then): a guardian's answer normally goes out before the webhook returns.
SETTLE = 2.0
#: Failed attempts (for a reason other than a busy or unreachable database) before a text
#: is given up with an apology.
MAX_ATTEMPTS = 3
#: How long to wait before trying again while the database is busy, at most.
BUSY_WAIT = 1.0
#: How often the intake is looked through without being woken (texts other workers left).
IDLE = 5.0
T = TypeVar("T")
Handler = Callable[[IntakeMessage], Awaitable[None]]


class Intake:
    """The intake of one channel's inbound messages and the task that handles them."""

    def __init__(self, engine: Engine, clock: Clock, *, channel: str, worker: str,
                 handle: Handler, give_up: Handler) -> None:
        """Store on the intake of `engine` (see `storage.intake.intake_engine`); `handle`
        handles a message (raising if it could not), `give_up` apologises for one that
        could not be handled."""
        self.engine = intake_engine(engine)
        self._own_engine = self.engine is not engine
        self.clock = clock
        self.channel, self.worker = channel, worker
        self.handle, self.give_up = handle, give_up
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._settled: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        #: The message last said to be waiting for the database (said once).
        self._waited = ""
        #: A text was not handled within SETTLE, and none has been since: webhooks do not
        #: wait for theirs to be.
        self._slow = False

    async def _io(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def put(self, *, ref: str, sender: str, body: str) -> None:
        """Store an inbound message (durably, on its own lock), then wait up to SETTLE
        seconds for it to be handled. A message stored already is not stored twice."""
        settled = self._settled.setdefault(ref, asyncio.Event())

        def put() -> bool:
            with session_scope(self.engine) as session:
                return store(session, channel=self.channel, ref=ref, sender=sender, body=body,
                             worker=self.worker, now=self.clock.now())

        await self._io(put)
        self._wake.set()
        if self._slow:  # the database is busy: answer as soon as the text is stored
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), SETTLE)
        if settled.is_set():
            self._settled.pop(ref, None)
        else:
            self._slow = True

    def start(self) -> None:
        """Start handling what is stored (what a stop or a crash left, first)."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish the message in hand and stop; what is left waits for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)
        if self._own_engine:
            self.engine.dispose()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the intake is read: a text stored from now on wakes the next
            # round, even one stored while this round finds nothing.
            self._wake.clear()
            try:
                busy = await self._round()
            except Exception:
                log.exception("intake: could not read the %s intake; trying again", self.channel)
                busy = True
            if self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), BUSY_WAIT if busy else IDLE)

    async def _round(self) -> bool:
        """Handle what is waiting, in order; True when the database was busy (then the rest
        waits, so that one sender's texts are handled in the order they came)."""
        while not self._stopping.is_set():
            rows = await self._io(self._waiting)
            if not rows:
                return False
            for row in rows:
                if self._stopping.is_set():
                    return False
                try:
                    await self.handle(row)
                except Exception as error:
                    if database_busy(error):  # the text is safe: wait for the database
                        if row.ref != self._waited:
                            log.warning("intake: %s %s waits, the database is busy",
                                        self.channel, row.ref)
                            self._waited = row.ref
                        return True
                    attempts = await self._io(partial(self._failed, row))
                    log.exception("intake: %s %s could not be handled (attempt %d)",
                                  self.channel, row.ref, attempts)
                    if attempts < MAX_ATTEMPTS:
                        return True
                    await self.give_up(row)
                await self._io(partial(self._handled, row))
                self._slow = False
                if (settled := self._settled.pop(row.ref, None)) is not None:
                    settled.set()
        return False

    def _waiting(self) -> list[IntakeMessage]:
        with session_scope(self.engine) as session:
            # On SQLite one process serves the database: what a stopped one left is its own.
            only = None if self.engine.dialect.name == "sqlite" else self.worker
            return waiting(session, worker=only, now=self.clock.now())

    def _handled(self, row: IntakeMessage) -> None:
        with session_scope(self.engine) as session:
            handled(session, row.id or 0)

    def _failed(self, row: IntakeMessage) -> int:
        with session_scope(self.engine) as session:
            return attempt_failed(session, row.id or 0)
