"""APScheduler wiring: it only triggers the sweeps; the sweeps decide what is due."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from policy.clock import Clock
from scheduler.sweeps import run_sweeps

log = logging.getLogger(__name__)
SWEEP_INTERVAL_SECONDS = 30


def build_scheduler(
    engine: Engine, clock: Clock, *, after_sweep: Callable[[], None] = lambda: None,
    interval: float = SWEEP_INTERVAL_SECONDS,
) -> AsyncIOScheduler:
    """A scheduler running every sweep each `interval` seconds, as of `clock.now()`.

    Call `stop_scheduler` to shut it down: it also waits for a sweep in progress.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    running = asyncio.Lock()
    scheduler.narvaro_sweeping = running

    async def sweep() -> None:
        async with running:
            work = asyncio.ensure_future(asyncio.to_thread(run_sweeps, engine, clock.now()))
            try:
                done = await asyncio.shield(work)
            except asyncio.CancelledError:
                # Shutting down: the thread cannot be stopped, so hold the lock until it is
                # done with its connection (the engine is disposed after stop_scheduler).
                # Its work is committed; the stop is not an error to report.
                await asyncio.wait([work])
                return
        if any(done.values()):
            log.info("sweeps: %s", {name: n for name, n in done.items() if n})
        after_sweep()

    scheduler.add_job(
        sweep, "interval", seconds=interval, id="sweeps", max_instances=1, coalesce=True,
        # Run once at start-up too: catch up on what came due while we were down.
        next_run_time=datetime.now(UTC),
    )
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop triggering sweeps and wait for one in progress (its thread holds a connection)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
    async with scheduler.narvaro_sweeping:
        pass
