"""The dispatcher: sends due outbox rows through their channels and records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Engine

from bot.channels.base import Channel, ChannelError, ChannelUnreachable
from handlers.delivery import on_sms_refused
from policy.clock import Clock
from policy.routing import AUTO, pick_channel
from storage.attendance import forget_notice_question, still_true
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import claim_due, mark_failed, mark_sent, release_claims, reroute, withdraw
from storage.people import mark_unreachable, reachability

log = logging.getLogger(__name__)


class Dispatcher:
    """Sends what is due, on demand (`wake`) or every `interval` seconds."""

    def __init__(
        self, engine: Engine, clock: Clock, channels: Mapping[str, Channel],
        *, interval: float = 1.0, batch: int = 50,
    ) -> None:
        """Prepare a dispatcher over `channels`, keyed by channel name."""
        self.engine = engine
        self.clock = clock
        self.channels = dict(channels)
        self.interval = interval
        self.batch = batch
        self._wake = asyncio.Event()
        self._closing = False

    def wake(self) -> None:
        """Send what is due now rather than at the next interval."""
        self._wake.set()

    def recover(self) -> int:
        """Release claims a crashed run left behind (this is the only dispatcher)."""
        with session_scope(self.engine) as session:
            return release_claims(session)

    async def dispatch_once(self) -> int:
        """Send every message due now; returns how many were handed to a channel."""
        sent = 0
        while not self._closing:
            batch = await asyncio.to_thread(self._claim)
            if not batch:
                return sent
            # One recipient's messages go in order; different recipients' go side by side.
            queues: dict[tuple[object, ...], list[tuple[OutboxMessage, Person | None]]] = {}
            for message, person in batch:
                key = (message.recipient_id,) if message.recipient_id else (
                    message.channel, message.address)
                queues.setdefault(key, []).append((message, person))
            counts = await asyncio.gather(*(self._send_in_order(q) for q in queues.values()))
            sent += sum(counts)
        return sent

    async def deliver(self, claimed: list[tuple[OutboxMessage, Person | None]]) -> int:
        """Send rows the caller enqueued already claimed (answers in a conversation), in order."""
        return await self._send_in_order(claimed)

    async def _send_in_order(self, queue: list[tuple[OutboxMessage, Person | None]]) -> int:
        sent = 0
        for message, person in queue:
            sent += await self._send(message, person)
        return sent

    def _claim(self) -> list[tuple[OutboxMessage, Person | None]]:
        with session_scope(self.engine) as session:
            messages = claim_due(session, now=self.clock.now(), limit=self.batch)
            pairs: list[tuple[OutboxMessage, Person | None]] = []
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
        if message.channel != AUTO:
            return message.channel if message.channel in self.channels else None
        if person is None:
            return None
        return pick_channel(reachability(person), self.channels)

    async def _send(self, message: OutboxMessage, person: Person | None) -> int:
        assert message.id is not None
        name = self._route(message, person)
        channel = self.channels.get(name) if name else None
        if channel is None:
            log.warning("outbox %s not sent: no configured channel reaches the recipient",
                        message.id)
            reason = ("no configured channel reaches the recipient" if message.channel == AUTO
                      else f"channel {message.channel} is not configured")
            await asyncio.to_thread(self._record_failure, message, reason, True)
            return 0
        try:
            ref = await channel.send(message, person)
        except ChannelUnreachable as error:
            log.warning("outbox %s: recipient unreachable on %s (%s)", message.id, name, error)
            if await asyncio.to_thread(self._record_unreachable, message, str(error),
                                       channel.name, error.code):
                self.wake()
            return 0
        except ChannelError as error:
            log.warning("outbox %s not sent: %s", message.id, error)
            await asyncio.to_thread(self._record_failure, message, str(error), error.final,
                                    error.retry_after, error.code)
            return 0
        except Exception as error:  # a channel bug must not stop all other messages
            log.exception("outbox %s: channel %s failed", message.id, name)
            await asyncio.to_thread(self._record_failure, message, type(error).__name__)
            return 0
        await asyncio.to_thread(self._record_sent, message.id, ref, channel.delivers_locally,
                                channel.name)
        log.info("outbox %s sent to person %s on %s", message.id,
                 person.id if person else "-", channel.name)
        return 1

    def _record_sent(self, message_id: int, ref: str | None, delivered: bool,
                     channel: str) -> None:
        with session_scope(self.engine) as session:
            mark_sent(session, message_id, now=self.clock.now(), provider_ref=ref,
                      delivered=delivered, channel=channel)

    def _record_failure(self, message: OutboxMessage, error: str, final: bool = False,
                        retry_after: float | None = None, code: str | None = None) -> None:
        with session_scope(self.engine) as session:
            mark_failed(session, message, now=self.clock.now(), error=error, final=final,
                        retry_after=timedelta(seconds=retry_after) if retry_after else None,
                        code=code)

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
        """Dispatch every `interval` seconds, or at once when woken, until closed."""
        while not self._closing:
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("dispatch round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
