"""Shared fixtures: real databases (SQLite files, and PostgreSQL when configured)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage.db import make_engine, upgrade
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

POSTGRES_URL = os.environ.get("NARVARO_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _postgres_url() -> str:
    assert POSTGRES_URL is not None
    url = POSTGRES_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def fresh_database_url(backend: str, tmp_path: Path) -> str:
    """A URL to an empty database of `backend` (PostgreSQL is wiped first)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'narvaro.db'}"
    url = _postgres_url()
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on every configured backend."""
    return fresh_database_url(request.param, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def narvaro_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> dict[str, str]:
    """A clean NARVARO_* environment pointing at the test database."""
    for name in list(os.environ):
        if name.startswith("NARVARO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = {
        "NARVARO_DATABASE_URL": database_url,
        "NARVARO_CLOCK_START": "2026-11-23T08:00:00+01:00",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Telegram Bot API server on loopback."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio REST server on loopback."""
    with FakeTwilio() as server:
        yield server
