"""Pacing rules for sending: a channel's ceiling as a token bucket, and backoff with jitter.

Pure: time and randomness are passed in (seconds on any monotonic scale, a number in [0, 1)).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ceiling:
    """How fast one channel may send: `rate` messages a second overall (0: no limit),
    `per_address` a second to any one address (0: no limit)."""

    rate: float
    per_address: float = 0.0


@dataclass
class TokenBucket:
    """At most `rate` takes a second on average and `burst` at once (`rate` 0: no limit).

    With `burst` 1 the takes are evenly spaced, 1/rate apart; nothing is saved up
    while idle beyond `burst`, so a quiet minute never allows a flood after it.
    """

    rate: float
    burst: float = 1.0
    tokens: float = field(default=-1.0)
    updated: float | None = None
    #: Nothing is taken before this instant (a provider asked us to wait).
    held_until: float = float("-inf")

    def __post_init__(self) -> None:
        """Start full."""
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a take is allowed (0 when it is allowed now)."""
        held = max(0.0, self.held_until - now)
        if self.rate <= 0:
            return held
        self._refill(now)
        return max(held, 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate)

    def take(self, now: float) -> None:
        """Use one token (call when `wait(now)` is 0)."""
        if self.rate <= 0:
            return
        self._refill(now)
        self.tokens -= 1

    def hold(self, now: float, until: float) -> None:
        """Allow nothing before `until`, then one take at once and the rate from there."""
        self.held_until = max(self.held_until, until)
        self._refill(now)
        self.tokens = min(self.tokens, 1.0)

    def idle(self, now: float) -> bool:
        """Whether the bucket is back to its resting state (full, not held): forgettable."""
        return now >= self.held_until and self.wait(now) == 0 and (
            self.rate <= 0 or self.tokens >= self.burst)


def backoff(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry).

    Exponential (base, 2·base, 4·base, …, at most `cap`), with "equal jitter": a
    uniformly random half of it (`jitter` in [0, 1)), so that many messages failing
    together do not come back together.
    """
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + delay / 2 * jitter
