"""What every command needs, and nothing heavier: settings, the database, the clock and
the policy (the channels and the web server are wired in bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.settings import Settings
from policy.clock import Clock
from policy.presets import PolicyPreset, load_policy
from storage.db import make_engine, read_scope, upgrade
from storage.schools import demo_clock


@dataclass
class Context:
    """What every command needs: settings, the database, the clock and the policy."""

    settings: Settings
    engine: Engine
    clock: Clock
    policy: PolicyPreset


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
    """Open the database (upgrading its schema) and start the clock."""
    engine = make_engine(settings.database_url)
    clock = Clock(settings.clock_start)
    if migrate:
        upgrade(engine)
        if settings.clock_start is None and settings.demo:
            with read_scope(engine) as session:
                anchor = demo_clock(session)
            if anchor is not None:  # the demo's time, as `narvaro run` set it
                start, real = anchor
                clock.set(start + (datetime.now(UTC) - real))
    return Context(settings, engine, clock, load_policy(settings.policy))
