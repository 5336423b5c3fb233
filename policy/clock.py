"""The one clock all of Närvaro reads time from.

`Clock.now()` is timezone-aware UTC. A clock may be started at a chosen instant
(`NARVARO_CLOCK_START`) and then runs forward in real time, so demos and
end-to-end tests can live on any school day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """A wall clock, optionally shifted so that it started at a given instant."""

    def __init__(self, start: datetime | None = None) -> None:
        """Create a clock; with `start`, `now()` begins at `start` and runs forward."""
        self._offset = timedelta(0)
        if start is not None:
            if start.tzinfo is None:
                raise ValueError("clock start must be timezone-aware")
            self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Jump the clock forward (used by `narvaro tick --now` and tests)."""
        self._offset += delta

    def set(self, instant: datetime) -> None:
        """Move the clock to `instant`, from where it keeps running."""
        if instant.tzinfo is None:
            raise ValueError("clock instant must be timezone-aware")
        self._offset = instant.astimezone(UTC) - datetime.now(UTC)
