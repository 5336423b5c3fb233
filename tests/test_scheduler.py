"""The real APScheduler triggers the sweeps as of the one clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from policy.clock import Clock
from scheduler.runner import build_scheduler, stop_scheduler
from storage.db import session_scope
from storage.models import ConversationState, Person


async def test_scheduler_runs_sweeps_on_the_shifted_clock(engine: Engine) -> None:
    """A dialog last touched 6 days ago is kept today and forgotten when the clock says 8 days."""
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        person = Person(name="Mona", language="sv", created_at=start, updated_at=start)
        session.add(person)
        session.flush()
        assert person.id is not None
        session.add(ConversationState(person_id=person.id, dialog="report", step="days",
                                      updated_at=start - timedelta(days=6)))
    clock = Clock(start)
    woken = asyncio.Event()
    scheduler = build_scheduler(engine, clock, after_sweep=woken.set, interval=0.2)
    scheduler.start()
    try:
        await asyncio.wait_for(woken.wait(), timeout=30)
        with Session(engine) as session:
            assert len(session.exec(select(ConversationState)).all()) == 1
        clock.advance(timedelta(days=2))
        for _ in range(300):  # 30 s at most
            await asyncio.sleep(0.1)
            with Session(engine) as session:
                if not session.exec(select(ConversationState)).all():
                    break
        else:
            raise AssertionError("the sweep did not run on the advanced clock")
    finally:
        await stop_scheduler(scheduler)
