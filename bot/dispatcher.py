"""The dispatcher: sends due outbox rows through their channels and records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy import Engine

from bot.channels.base import Channel, ChannelError
from policy.clock import Clock
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from storage.outbox import claim_due, mark_failed, mark_sent, release_claims

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
        while True:
            batch = await asyncio.to_thread(self._claim)
            if not batch:
                return sent
            for message, person in batch:
                sent += await self._send(message, person)

    def _claim(self) -> list[tuple[OutboxMessage, Person]]:
        with session_scope(self.engine) as session:
            messages = claim_due(session, now=self.clock.now(), limit=self.batch)
            pairs = []
            for message in messages:
                person = session.get(Person, message.recipient_id)
                assert person is not None
                pairs.append((message, person))
            return pairs

    async def _send(self, message: OutboxMessage, person: Person) -> int:
        channel = self.channels.get(message.channel)
        assert message.id is not None
        try:
            if channel is None:
                raise ChannelError(f"channel {message.channel} is not configured")
            ref = await channel.send(message, person)
        except ChannelError as error:
            log.warning("outbox %s not sent: %s", message.id, error)
            await asyncio.to_thread(self._record_failure, message, str(error))
            return 0
        except Exception as error:  # a channel bug must not stop all other messages
            log.exception("outbox %s: channel %s failed", message.id, message.channel)
            await asyncio.to_thread(self._record_failure, message, type(error).__name__)
            return 0
        delivered = channel.delivers_locally
        await asyncio.to_thread(self._record_sent, message.id, ref, delivered)
        log.info("outbox %s sent to person %s on %s", message.id, person.id, message.channel)
        return 1

    def _record_sent(self, message_id: int, ref: str | None, delivered: bool) -> None:
        with session_scope(self.engine) as session:
            mark_sent(session, message_id, now=self.clock.now(), provider_ref=ref,
                      delivered=delivered)

    def _record_failure(self, message: OutboxMessage, error: str) -> None:
        with session_scope(self.engine) as session:
            mark_failed(session, message, now=self.clock.now(), error=error)

    async def run_forever(self) -> None:
        """Dispatch every `interval` seconds, or at once when woken, until cancelled."""
        while True:
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("dispatch round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
