"""A channel's lane: its ceiling (overall and per address), sends in flight, answers first.

The dispatcher takes a turn on the channel's lane around each send and the recording
of its outcome. Waiting turns are served by priority, then in arrival order: an answer
in a conversation overtakes every queued notice, yet never breaks the ceiling.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from policy.pacing import Ceiling, TokenBucket

#: Priorities: lower goes first.
URGENT, NORMAL = 0, 1
#: Forget an address's pacing this often (they accumulate over a day of notices).
PRUNE_EVERY = 1000


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    key: str | None = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class Lane:
    """One channel's way out (see the module docstring); use `turn` around a send."""

    def __init__(self, ceiling: Ceiling, *, in_flight: int = 1,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """A lane for `ceiling`, with at most `in_flight` turns taken at once."""
        self.ceiling = ceiling
        self.in_flight = max(1, in_flight)
        self._time = monotonic
        self._overall = TokenBucket(ceiling.rate)
        self._addresses: dict[str, TokenBucket] = {}
        self._waiters: list[_Waiter] = []
        self._busy = 0
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._turns = 0

    @property
    def waiting(self) -> int:
        """How many turns are waiting."""
        return len(self._waiters)

    @asynccontextmanager
    async def turn(self, address: str | None, *, priority: int = NORMAL) -> AsyncIterator[None]:
        """Wait until a message to `address` may go, and hold the lane while it does."""
        await self._acquire(address, priority)
        try:
            yield
        finally:
            if address is not None and self.ceiling.per_address > 0:
                # An address's spacing counts from the end of its last send, not the start:
                # the provider saw that request by then, however late it left, so the next
                # one never reaches it sooner than the limit allows.
                now = self._time()
                self._bucket(address).hold(now, now + 1 / self.ceiling.per_address)
            self._release()

    def hold(self, address: str | None, seconds: float) -> None:
        """Send nothing to `address` (None: on the whole channel) for `seconds`, exactly."""
        now = self._time()
        bucket = self._overall if address is None else self._bucket(address)
        bucket.hold(now, now + seconds)
        self._pump()

    def _bucket(self, address: str) -> TokenBucket:
        bucket = self._addresses.get(address)
        if bucket is None:
            bucket = self._addresses[address] = TokenBucket(self.ceiling.per_address)
        return bucket

    async def _acquire(self, address: str | None, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(priority, next(self._seq), address, future)
        self._waiters.append(waiter)
        self._waiters.sort()
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted just as it was cancelled: give the turn back
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
                self._pump()
            raise

    def _release(self) -> None:
        self._busy -= 1
        self._turns += 1
        if self._turns % PRUNE_EVERY == 0:
            now = self._time()
            self._addresses = {a: b for a, b in self._addresses.items() if not b.idle(now)}
        self._pump()

    def _pump(self) -> None:
        """Grant turns that may go now; otherwise wake up when the next one may."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._time()
        soonest = float("inf")
        index = 0
        while index < len(self._waiters) and self._busy < self.in_flight:
            waiter = self._waiters[index]
            if waiter.future.done():
                del self._waiters[index]
                continue
            address = self._bucket(waiter.key) if waiter.key is not None else None
            address_wait = address.wait(now) if address is not None else 0.0
            overall_wait = self._overall.wait(now)
            if address_wait > 0:
                soonest = min(soonest, max(address_wait, overall_wait))
                index += 1  # this address must wait; a later turn to another may go
                continue
            if overall_wait > 0:
                soonest = min(soonest, overall_wait)
                break  # the channel must wait: the first in line gets the next slot
            self._overall.take(now)
            if address is not None:
                address.take(now)
            del self._waiters[index]
            self._busy += 1
            waiter.future.set_result(None)
        if self._waiters and self._busy < self.in_flight and soonest < float("inf"):
            self._timer = asyncio.get_running_loop().call_later(soonest, self._pump)
