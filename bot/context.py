"""What every command needs, and nothing heavier: settings, the database, the clock and
the policy (the channels and the web server are wired in bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.settings import Settings
from policy.clock import Clock
from policy.presets import PolicyPreset, load_policy
from storage.db import make_engine, upgrade


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
    if migrate:
        upgrade(engine)
    return Context(settings, engine, Clock(settings.clock_start), load_policy(settings.policy))
