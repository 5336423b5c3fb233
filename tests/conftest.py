"""Shared fixtures: real databases (SQLite files, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from functools import cache
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from storage.db import alembic_config, make_engine, upgrade
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


def fresh_database_url(backend: str, tmp_path: Path, *, migrated: bool = True) -> str:
    """A URL to an empty database of `backend`, its schema at the newest migration (or
    no schema at all with `migrated=False`).

    Migrating from nothing takes about half a second, and a thousand tests start from an
    empty database: SQLite files are copied from one migrated template, and PostgreSQL
    keeps its migrated schema and has every table emptied instead. (A migration edited in
    place, under the same revision, needs the test database's schema dropped once.)
    """
    if backend == "sqlite":
        path = tmp_path / "narvaro.db"
        if migrated:
            shutil.copyfile(_sqlite_template(), path)
        return f"sqlite:///{path}"
    url = _postgres_url()
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = list(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        version = connection.execute(text(
            "SELECT version_num FROM alembic_version")).scalar() if (
            "alembic_version" in tables) else None
        if migrated and version == _head(engine):
            emptied = ", ".join(f'"{table}"' for table in tables if table != "alembic_version")
            connection.execute(text(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    if migrated and version != _head(engine):
        upgrade(engine)
    engine.dispose()
    return url


@cache
def _head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


@cache
def _sqlite_template() -> Path:
    """A SQLite file migrated to the newest schema, made once per test run."""
    path = Path(tempfile.mkdtemp(prefix="narvaro-template-")) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with closing(sqlite3.connect(path)) as connection:  # everything in the file, not the WAL
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on every configured backend."""
    return fresh_database_url(request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all, on every configured backend."""
    return fresh_database_url(request.param, tmp_path, migrated=False)


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
