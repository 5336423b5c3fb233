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
from sqlalchemy import Connection, Engine, make_url, text

from storage.db import MIGRATIONS, make_engine, upgrade
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import import_roster
from tests.transcript import House

#: The PostgreSQL database the tests may use (they empty it). Under pytest-xdist each
#: worker uses a database of its own beside it, named with the worker's id (`…_gw0`),
#: created on first use and dropped when the worker is done.
CONFIGURED_POSTGRES_URL = os.environ.get("NARVARO_TEST_POSTGRES_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_url(url: str | None) -> str | None:
    if url is None or WORKER is None:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(
        hide_password=False)


POSTGRES_URL = _worker_url(CONFIGURED_POSTGRES_URL)
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@cache
def _postgres_url() -> str:
    assert POSTGRES_URL is not None
    url = _psycopg(POSTGRES_URL)
    if POSTGRES_URL != CONFIGURED_POSTGRES_URL:
        name = make_url(url).database or ""
        _on_server("CREATE DATABASE {name}", name, unless_exists=True)
    return url


def _on_server(statement: str, name: str, *, unless_exists: bool = False) -> None:
    """Run CREATE or DROP DATABASE `name` on the configured database's server."""
    assert CONFIGURED_POSTGRES_URL is not None
    admin = make_engine(_psycopg(CONFIGURED_POSTGRES_URL))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first() is not None
            if not (unless_exists and exists):
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.execute(text(statement.format(name=quoted)))
    finally:
        admin.dispose()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Each process removes its SQLite template, and a worker drops the PostgreSQL database
    it made (a killed run leaves it to .ci/run's trap, or to the next run, which uses it)."""
    if _sqlite_template.cache_info().currsize:
        shutil.rmtree(_sqlite_template().parent, ignore_errors=True)
    if _postgres_url.cache_info().currsize and POSTGRES_URL != CONFIGURED_POSTGRES_URL:
        _on_server("DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                   make_url(_postgres_url()).database or "")


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
        if migrated and version == _head():
            _empty(connection, [table for table in tables if table != "alembic_version"])
        else:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    if migrated and version != _head():
        upgrade(engine)
    engine.dispose()
    return url


def _empty(connection: Connection, tables: list[str]) -> None:
    """Empty every table and restart every id sequence, as TRUNCATE … RESTART IDENTITY does.

    TRUNCATE makes new files for each of the 25 tables, which takes most of a second on a
    busy machine; DELETE on tables of a few rows takes a tenth of that. The superuser the
    tests use skips the foreign-key triggers for it (in no particular order); any other
    role truncates.
    """
    quoted = [connection.dialect.identifier_preparer.quote(table) for table in tables]
    if connection.execute(text("SELECT current_setting('is_superuser')")).scalar() != "on":
        connection.execute(text(f"TRUNCATE {', '.join(quoted)} RESTART IDENTITY CASCADE"))
        return
    connection.execute(text("SET LOCAL session_replication_role = replica"))
    for table in quoted:
        connection.execute(text(f"DELETE FROM {table}"))
    connection.execute(text(
        "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"))


@cache
def _head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@cache
def _sqlite_template() -> Path:
    """A SQLite file migrated to the newest schema, made once per test process (each
    xdist worker has its own)."""
    path = Path(tempfile.mkdtemp(prefix="narvaro-template-")) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with closing(sqlite3.connect(path)) as connection:  # everything in the file, not the WAL
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that run on PostgreSQL too."""
    config.addinivalue_line(
        "markers", "postgresql: also run on PostgreSQL (NARVARO_TEST_POSTGRES_URL), for tests "
        "whose point is storage: claims, locks, delivery, migrations, concurrency")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test on a database runs on SQLite; marked `postgresql`, on PostgreSQL as well
    (when configured). A dialog's SQL is the same on both: its storage is tested there."""
    on_postgres = metafunc.definition.get_closest_marker("postgresql") is not None
    backends = BACKENDS if on_postgres else ["sqlite"]
    for name in ("database_url", "blank_database_url"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, backends, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite, or each configured backend for tests marked `postgresql`."""
    return fresh_database_url(request.param, tmp_path)


@pytest.fixture
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all (SQLite, or each backend as `database_url`)."""
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


@pytest.fixture
def house(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[House]:
    """The transcript roster (tests/telegram_harness.py) in an in-process house with
    Telegram and SMS, the clock at Monday 23 November 2026, 08:00."""
    import_roster(tmp_path)
    with House.open() as opened:
        yield opened
