"""The dispatcher: sends due outbox rows through their channels and records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot.channels.base import (
    Channel,
    ChannelError,
    ChannelMaybeSent,
    ChannelUnreachable,
    Claimed,
)
from bot.pacing import NORMAL, URGENT, Lane
from bot.transactions import run_transaction
from handlers.delivery import on_sms_refused
from policy.clock import Clock
from policy.pacing import Ceiling, backoff
from policy.routing import AUTO, pick_channel
from storage.attendance import forget_notice_question, still_true
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import (
    ANSWER,
    CLAIM_LEASE,
    RETRY_BASE,
    claim_due,
    mark_failed,
    mark_maybe_sent,
    mark_sent,
    postpone,
    release_claims,
    renew_claims,
    reroute,
    unclaim,
    withdraw,
)
from storage.people import mark_unreachable, reachability

log = logging.getLogger(__name__)
#: Retries after a provider error wait 30 s, 60 s, 2 min, … (with jitter), at most this long.
RETRY_CAP = timedelta(hours=1)
#: What `_send` returns when the message is to be tried again later.
LATER = -1
#: Two flood-control answers for different chats this close together: the limit is bot-wide.
FLOOD_WINDOW = 1.0
#: A message held by flood control is due a moment after the wait (its row is written then).
RETRY_AFTER_SLACK = 0.05
#: Seconds between asking the providers that can say (Twilio) about maybe-sent messages.
RECONCILE_EVERY = 60.0


class Dispatcher:
    """Sends what is due, on demand (`wake`) or every `interval` seconds.

    Each channel with a ceiling (`Paced`) sends through a `Lane` that keeps it: its
    rate overall and per address, `in_flight` requests at a time, answers in a
    conversation before anything else. A row is claimed with a lease in the name of
    `worker`, sent, and marked in that order, the mark inside the lane's turn: a crash
    at any instant loses nothing, and sends again at most the requests in flight.

    A recipient's channel is chosen among the `configured` ones (the installation's), not
    only among those this process holds: a message whose channel this process cannot send
    on is put back, pending, for a process that can (never handed to another channel).
    """

    def __init__(
        self, engine: Engine, clock: Clock, channels: Mapping[str, Channel],
        *, interval: float = 1.0, batch: int = 50, worker: str = "local",
        lease: timedelta = CLAIM_LEASE, in_flight: int = 1,
        reconcile_every: float = RECONCILE_EVERY,
        configured: Collection[str] | None = None,
    ) -> None:
        """Prepare a dispatcher over `channels`, keyed by channel name; `configured` names
        every channel the installation uses (default: those given)."""
        self.engine = engine
        self.clock = clock
        self.channels = dict(channels)
        self.configured = frozenset(self.channels if configured is None else configured)
        #: Messages put back because their channel is not in this process, by channel.
        self.waiting: dict[str, set[int]] = {}
        self.interval = interval
        self.batch = batch
        self.worker = worker
        self.lease = lease
        self.reconcile_every = reconcile_every
        self.lanes: dict[str, Lane] = {}
        for name, channel in self.channels.items():
            ceiling = getattr(channel, "ceiling", None)
            if isinstance(ceiling, Ceiling):
                self.lanes[name] = Lane(ceiling, in_flight=in_flight)
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._last_flood: dict[str, tuple[float, str | None]] = {}
        self._marks = _Marks(self._record_sent)

    def wake(self) -> None:
        """Send what is due now rather than at the next interval."""
        self._wake.set()

    def recover(self) -> int:
        """Release the claims an earlier process of this worker's name left behind (other
        workers' claims are taken over once their lease runs out). On SQLite, the one-process
        set-up, every claim left is this installation's: all are released at once."""
        only = None if self.engine.dialect.name == "sqlite" else self.worker
        with session_scope(self.engine) as session:
            return release_claims(session, worker=only)

    def renew(self) -> int:
        """Renew the lease on this worker's claims (a long batch outlives a lease)."""
        with session_scope(self.engine) as session:
            return renew_claims(session, worker=self.worker)

    async def dispatch_once(self) -> int:
        """Send every message due now; returns how many were handed to a channel.

        One recipient's messages go in order; different recipients' go side by side. A
        new batch is claimed as soon as half the last one is done, so that one person
        with many messages (paced at one a second) never holds up everyone else's.
        """
        round_ = _Round(self)
        claiming = True
        while True:
            if claiming and not self._closing and round_.in_hand <= self.batch // 2:
                batch = await asyncio.to_thread(self._claim)
                claiming = bool(batch)  # nothing more due: finish what is in hand
                round_.add(batch)
            if not round_.running:
                return round_.sent
            await round_.progressed()

    async def reconcile_once(self) -> int:
        """Ask each channel that can (SMS) about its `maybe_sent` messages; returns how many
        were settled (those to send again are sent in the next round)."""
        settled = 0
        for name, channel in self.channels.items():
            reconcile = getattr(channel, "reconcile", None)
            if reconcile is None:
                continue
            try:
                settled += await reconcile()
            except Exception:
                log.exception("reconciling maybe-sent messages on %s failed; retrying", name)
        if settled:
            self.wake()
        return settled

    async def deliver(self, claimed: Claimed) -> int:
        """Send rows the caller enqueued already claimed (answers in a conversation), in order,
        ahead of everything waiting."""
        return await self._send_in_order(claimed, urgent=True)

    async def _send_in_order(self, queue: Claimed, *, urgent: bool = False) -> int:
        sent = 0
        for index, (message, person) in enumerate(queue):
            outcome = await self._send(message, person, urgent=urgent)
            if outcome == LATER:
                # The rest waits behind it, so the person still reads them in order.
                rest = [m.id or 0 for m, _ in queue[index + 1:]]
                if rest:
                    await self.postpone_behind(rest, message.id or 0)
                break
            sent += outcome
        return sent

    def postpone_behind(self, ids: list[int], behind: int) -> Awaitable[None]:
        """Put claimed rows back, to go after row `behind` when it is due again."""
        return asyncio.to_thread(self._postpone, ids, behind)

    def _postpone(self, ids: list[int], behind: int) -> None:
        with session_scope(self.engine) as session:
            postpone(session, ids, behind=behind)

    def _claim(self) -> Claimed:
        with session_scope(self.engine) as session:
            messages = claim_due(session, now=self.clock.now(), limit=self.batch,
                                 worker=self.worker, lease=self.lease,
                                 exclude=set().union(*self.waiting.values()))
            pairs: Claimed = []
            for message in messages:
                if not still_true(session, message, self.clock.now()):
                    # A report or a correction came after the decision, or the day is
                    # over: what the message says is not so any more.
                    withdraw(session, message.id or 0, now=self.clock.now())
                    forget_notice_question(session, message)
                    continue
                person = (session.get(Person, message.recipient_id)
                          if message.recipient_id is not None else None)
                pairs.append((message, person))
            return pairs

    def _route(self, message: OutboxMessage, person: Person | None) -> str | None:
        """The channel the recipient is reached by in this installation (perhaps one this
        process does not hold), or None when none reaches them."""
        if message.channel != AUTO:
            return message.channel if message.channel in self.configured else None
        if person is None:
            return None
        return pick_channel(reachability(person), self.configured)

    async def _leave_for(self, name: str, message: OutboxMessage) -> None:
        """Put a message back, pending, for a process that holds channel `name`; warn once
        per channel."""
        if name not in self.waiting:
            log.warning("outbox: messages for the %s channel stay pending: this process cannot "
                        "send on it (`narvaro run` with the same settings sends them)", name)
        self.waiting.setdefault(name, set()).add(message.id or 0)
        await asyncio.to_thread(self._unclaim, message.id or 0)

    def _unclaim(self, message_id: int) -> None:
        with session_scope(self.engine) as session:
            unclaim(session, [message_id])

    @asynccontextmanager
    async def _turn(self, name: str, address: str | None, urgent: bool) -> AsyncIterator[None]:
        lane = self.lanes.get(name)
        if lane is None:
            yield
            return
        async with lane.turn(address, priority=URGENT if urgent else NORMAL):
            yield

    async def _send(self, message: OutboxMessage, person: Person | None, *,
                    urgent: bool = False) -> int:
        assert message.id is not None
        name = self._route(message, person)
        if name is not None and name not in self.channels:
            await self._leave_for(name, message)
            return 0
        channel = self.channels.get(name) if name else None
        if channel is None or name is None:
            log.warning("outbox %s not sent: no configured channel reaches the recipient",
                        message.id)
            reason = ("no configured channel reaches the recipient" if message.channel == AUTO
                      else f"channel {message.channel} is not configured")
            await asyncio.to_thread(self._record_failure, message, reason, True)
            return 0
        address_of = getattr(channel, "address_of", None)
        address = address_of(message, person) if address_of is not None else None
        urgent = urgent or message.priority == ANSWER
        # The outcome is recorded inside the turn: with one request in flight, a crash
        # leaves at most that one sent and not marked.
        async with self._turn(name, address, urgent):
            return await self._send_now(message, person, name, channel, address)

    async def _send_now(self, message: OutboxMessage, person: Person | None, name: str,
                        channel: Channel, address: str | None) -> int:
        try:
            ref = await channel.send(message, person)
        except ChannelUnreachable as error:
            log.warning("outbox %s: recipient unreachable on %s (%s)", message.id, name, error)
            if await asyncio.to_thread(self._record_unreachable, message, str(error),
                                       channel.name, error.code):
                self.wake()
            return 0
        except ChannelMaybeSent as error:
            log.warning("outbox %s maybe sent on %s, not sent again: %s", message.id, name,
                        error)
            await asyncio.to_thread(self._record_maybe_sent, message, str(error), channel.name)
            return 0
        except ChannelError as error:
            log.warning("outbox %s not sent: %s", message.id, error)
            lane = self.lanes.get(name)
            if error.retry_after is not None and lane is not None:
                # Flood control: this chat (or the sender) waits exactly as long as asked;
                # when a second chat is refused too, the limit is the bot's: all of it waits.
                lane.hold(address, error.retry_after)
                if self._bot_wide(name, address):
                    lane.hold(None, error.retry_after)
            if error.retry_after is not None:
                # Come back for it when the wait is over, not at the next interval.
                asyncio.get_running_loop().call_later(error.retry_after + RETRY_AFTER_SLACK,
                                                      self.wake)
            await asyncio.to_thread(self._record_failure, message, str(error), error.final,
                                    error.retry_after, error.code)
            return 0 if error.final else LATER
        except Exception as error:  # a channel bug must not stop all other messages
            log.exception("outbox %s: channel %s failed", message.id, name)
            await asyncio.to_thread(self._record_failure, message, type(error).__name__)
            return LATER
        await self._marks.sent(Sent(message.id or 0, ref, channel.delivers_locally,
                                    channel.name))
        log.info("outbox %s sent to person %s on %s", message.id,
                 person.id if person else "-", channel.name)
        return 1

    def _bot_wide(self, channel: str, address: str | None) -> bool:
        """Whether a flood-control answer follows one for another address, just before."""
        now = time.monotonic()
        last = self._last_flood.get(channel)
        self._last_flood[channel] = (now, address)
        return address is None or (
            last is not None and now - last[0] < FLOOD_WINDOW and last[1] != address)

    async def _record_sent(self, marks: list[Sent]) -> None:
        await run_transaction(self.engine, self._write_sent, marks)

    def _write_sent(self, marks: list[Sent], *, wait: bool = True) -> None:
        with session_scope(self.engine, wait=wait) as session:
            for mark in marks:
                mark_sent(session, mark.message_id, now=self.clock.now(), provider_ref=mark.ref,
                          delivered=mark.delivered, channel=mark.channel)

    def _record_failure(self, message: OutboxMessage, error: str, final: bool = False,
                        retry_after: float | None = None, code: str | None = None) -> None:
        if retry_after is not None:
            delay = timedelta(seconds=retry_after)
        else:
            delay = timedelta(seconds=backoff(
                message.attempts, base=RETRY_BASE.total_seconds(),
                cap=RETRY_CAP.total_seconds(), jitter=random.random()))
        with session_scope(self.engine) as session:
            mark_failed(session, message, now=self.clock.now(), error=error, final=final,
                        retry_after=delay, code=code, throttled=retry_after is not None)

    def _record_maybe_sent(self, message: OutboxMessage, error: str, channel: str) -> None:
        with session_scope(self.engine) as session:
            mark_maybe_sent(session, message, error=error, channel=channel)

    def _record_unreachable(
        self, message: OutboxMessage, error: str, channel: str, code: str | None = None
    ) -> bool:
        """Give the message up on this channel and queue it for the person's next one.

        Returns whether a copy was queued (runs in a worker thread: the caller wakes
        the dispatcher on the event loop).
        """
        now = self.clock.now()
        with session_scope(self.engine) as session:
            mark_failed(session, message, now=now, error=error, final=True, channel=channel,
                        code=code)
            if message.recipient_id is None:
                return False
            person = session.get(Person, message.recipient_id)
            if person is None:
                return False
            if channel == "sms":
                on_sms_refused(session, person, code, now=now)
            else:
                mark_unreachable(session, person.id or 0, channel=channel, now=now)
            return reroute(session, message, channel=AUTO, now=now)

    async def close(self) -> None:
        """Ask `run_forever` to finish after the round in progress (no send is cut off)."""
        self._closing = True
        self._wake.set()

    async def run_forever(self) -> None:
        """Dispatch every `interval` seconds, or at once when woken, until closed; renew
        this worker's leases meanwhile."""
        renewing = asyncio.create_task(self._renew_forever())
        try:
            await self._dispatch_forever()
        finally:
            self._closed.set()
            await renewing

    async def _renew_forever(self) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.lease.total_seconds() / 3)
                return
            try:
                await asyncio.to_thread(self.renew)
            except Exception:
                log.exception("renewing claims failed; retrying")

    async def _dispatch_forever(self) -> None:
        reconciled = time.monotonic() - self.reconcile_every  # at once after a start
        while not self._closing:
            if time.monotonic() - reconciled >= self.reconcile_every:
                reconciled = time.monotonic()
                await self.reconcile_once()
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("dispatch round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()


@dataclass(frozen=True)
class Sent:
    """A message a channel took: what `mark_sent` records of it."""

    message_id: int
    ref: str | None
    delivered: bool
    channel: str


class _Marks:
    """Sent messages recorded together: one transaction for every mark that came in while
    the last was being written (many conversations at once), at once when none was.

    `sent` returns once its mark is committed, so a send's outcome is still recorded
    before its lane's turn ends.
    """

    def __init__(self, write: Callable[[list[Sent]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[Sent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def sent(self, mark: Sent) -> None:
        """Record `mark`, with whatever else is waiting."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((mark, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        await done

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write([mark for mark, _done in batch])
                except Exception as error:  # each sender hears it, as from its own write
                    for _mark, done in batch:
                        if not done.done():
                            done.set_exception(error)
                except BaseException:  # cancelled: so are the sends waiting on this write
                    for _mark, done in batch:
                        done.cancel()
                    raise
                else:
                    for _mark, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None


class _Round:
    """One dispatch round's messages in hand, a queue per recipient, each drained in order."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.queues: dict[tuple[object, ...], deque[tuple[OutboxMessage, Person | None]]] = {}
        self.running: dict[tuple[object, ...], asyncio.Task[None]] = {}
        #: Recipients whose message is to be tried again: the rest waits behind that row.
        self.held: dict[tuple[object, ...], int] = {}
        self.in_hand = 0
        self.sent = 0
        self._progress = asyncio.Event()

    def add(self, batch: Claimed) -> None:
        """Queue claimed rows behind their recipient's, and start sending to new recipients."""
        for message, person in batch:
            key = (message.recipient_id,) if message.recipient_id else (
                message.channel, message.address)
            self.queues.setdefault(key, deque()).append((message, person))
            self.in_hand += 1
            if key not in self.running:
                self.running[key] = asyncio.create_task(self._drain(key))

    async def progressed(self) -> None:
        """Wait until a message is done."""
        self._progress.clear()
        await self._progress.wait()

    async def _drain(self, key: tuple[object, ...]) -> None:
        queue = self.queues[key]
        try:
            while queue:
                message, person = queue.popleft()
                if key in self.held:
                    outcome = LATER
                    await self.dispatcher.postpone_behind([message.id or 0], self.held[key])
                else:
                    outcome = await self.dispatcher._send(message, person)
                    if outcome == LATER:
                        self.held[key] = message.id or 0
                self.sent += max(0, outcome)
                self.in_hand -= 1
                self._progress.set()
        except Exception:  # the database failed us: the claims lapse and are taken again
            log.exception("dispatch: a recipient's messages were left to their lease")
        finally:
            del self.queues[key]
            del self.running[key]
            self._progress.set()
