"""Engine and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL for scale."""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, make_url, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, SQLModel

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")
SQLITE_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


def make_engine(url: str, *, never_wait: bool = False, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite connections get WAL, a busy timeout and foreign keys.

    SQLite's busy timeout (how long a writer waits for another's lock) is the URL's own
    `timeout` in seconds, as pysqlite reads it (`sqlite:///n.db?timeout=2`), else
    SQLITE_BUSY_TIMEOUT_MS; `never_wait` (`session_scope(wait=False)`'s engine): none, and
    a transaction that cannot begin at once raises `Busy`. Statement parameters are kept
    out of error messages: they can hold a reason, a note or a phone number, and errors
    end up in logs.
    """
    if url.startswith("sqlite"):
        busy_timeout_ms = 0 if never_wait else _busy_timeout_ms(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            hide_parameters=True, **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Turn pysqlite's implicit transactions off so BEGIN IMMEDIATE below works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Take the write lock up front: two writers never deadlock on lock upgrade. A
            # reader (`read_scope`) takes none: in WAL mode it neither waits nor blocks.
            if connection.get_execution_options().get(_READING, False):
                connection.exec_driver_sql("BEGIN")
            elif never_wait:  # `session_scope(wait=False)`
                try:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                except OperationalError as error:
                    raise Busy("another process is writing") from error
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def _busy_timeout_ms(url: str) -> int:
    """The SQLite URL's `timeout` (seconds; the last one if given twice) in milliseconds,
    else SQLITE_BUSY_TIMEOUT_MS."""
    given = make_url(url).query.get("timeout")
    if isinstance(given, tuple):
        given = given[-1] if given else None
    if given is None:
        return SQLITE_BUSY_TIMEOUT_MS
    try:
        seconds = float(given)
    except ValueError:
        raise ValueError(
            f"the database URL's timeout is not a number of seconds: {given!r}") from None
    return max(0, round(1000 * seconds))


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at our migrations and `engine`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


@cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files without loading
    Alembic (a third of a second of imports); None when they do not name exactly one."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        found = {bool(down): _QUOTED.findall(value)
                 for down, value in _REVISION.findall(path.read_text(encoding="utf-8"))}
        if len(found.get(False, [])) != 1 or True not in found:
            return None  # not a shape we read: let Alembic decide
        revisions.update(found[False])
        parents.update(found[True])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def schema_current(engine: Engine) -> bool:
    """Whether the database's schema is at the newest migration (one small query)."""
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as connection:
        try:
            versions = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version").scalars().all()
        except DBAPIError:  # no alembic_version table: a database not migrated yet
            return False
    return list(versions) == [head]


def upgrade(engine: Engine) -> None:
    """Bring the schema up to the newest migration (idempotent). A database already there
    is recognised by one query, without loading Alembic: every command starts with this."""
    if schema_current(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


class Busy(Exception):
    """Another writer has the database right now (`session_scope(wait=False)`)."""


_PROMPT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _prompt_engine(engine: Engine) -> Engine:
    """A second engine on the same SQLite file whose connections never wait for the write
    lock (busy timeout 0): `session_scope(wait=False)` is bound to it. Disposed with
    `engine`."""
    prompt = _PROMPT.get(engine)
    if prompt is None:
        prompt = make_engine(engine.url.render_as_string(hide_password=False),
                             never_wait=True)
        event.listen(engine, "engine_disposed", lambda _engine: prompt.dispose())
        _PROMPT[engine] = prompt
    return prompt


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """One lock per SQLite engine: this process's transactions queue here, in order.

    SQLite allows one writer; waiting on our own lock wakes a thread the moment the
    previous transaction ends, where SQLite's busy handler would sleep and retry.
    """
    if engine.dialect.name != "sqlite":
        return None
    return _WRITERS.setdefault(engine, threading.RLock())


#: `Session.info` key: the rows a session keeps for its whole life (see `session_scope`).
_HELD = "narvaro.held"


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
def _hold(session: Session, instance: object) -> None:
    held = session.info.get(_HELD)
    if held is not None:
        held.append(instance)


@contextmanager
def session_scope(engine: Engine, *, hold: bool = False, wait: bool = True
                  ) -> Iterator[Session]:
    """A session committed on success and rolled back on error.

    With `hold` (a short session: one message's work) every row it reads or writes stays
    in the session until it ends. SQLAlchemy's identity map forgets a row nobody holds,
    so the same school looked up by id in five places is otherwise read five times.

    Without `wait` (SQLite only), `Busy` is raised at once when another transaction has
    the database, rather than waiting for it: see `can_run_at_once`.
    """
    lock = _writer_lock(engine)
    bind = engine
    if not wait:
        if lock is None or not can_run_at_once(engine):
            raise ValueError("only sessions on a SQLite file can refuse to wait")
        if not lock.acquire(blocking=False):
            raise Busy("another transaction of this process is writing")
        bind = _prompt_engine(engine)
    try:
        # The lock is re-entrant: held already when not waiting, this takes it at once.
        with lock if lock is not None else nullcontext(), Session(
            bind, expire_on_commit=False, info={_HELD: []} if hold else None
        ) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        if not wait and lock is not None:
            lock.release()


def can_run_at_once(engine: Engine) -> bool:
    """Whether a short transaction may run on the caller's thread (an event loop) when the
    database is free: SQLite, an in-process library whose writers this process queues
    (`session_scope(wait=False)` never waits). Handing each message to a worker thread
    costs more than its whole transaction: the threads contend for the interpreter. Not
    for a database in memory (a second connection would see another one)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "",
                                                                         ":memory:")


#: Execution option of a `read_scope` session's connections.
_READING = "narvaro_reading"
_READERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "before_flush")
def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_READING) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a read_scope session changed a row; use session_scope")


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads: it takes no write lock (SQLite: this process's writers do
    not queue behind it, nor it behind them) and ends without a commit. Changing a row in it
    is a mistake, refused when the change would be written."""
    reader = _READERS.get(engine)
    if reader is None:
        reader = _READERS.setdefault(engine, engine.execution_options(**{_READING: True}))
    with Session(reader, expire_on_commit=False, info={_READING: True}) as session:
        yield session
        session.flush()  # refuses a change made, rather than dropping it in silence


def table_of(model: type[SQLModel]) -> Table:
    """The table a model is stored in (for statements built on the table, which skip the
    ORM's per-statement work)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


def execute_write(session: Session, statement: Any, values: dict[str, Any]) -> Any:
    """Run a prebuilt insert or update in the session's transaction at once (no unit of
    work: several times cheaper than adding a row for the next flush); refused in a
    `read_scope` session, like a change written by a flush."""
    if session.info.get(_READING):
        raise RuntimeError("a read_scope session changed a row; use session_scope")
    return session.execute(statement, values)


def database_busy(error: BaseException) -> bool:
    """Whether `error` says the database is busy or out of reach for now, so that the same
    work may succeed later: SQLite's "database is locked", a lost or refused PostgreSQL
    connection. A missing table or a broken statement is not."""
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.OperationalError):
        message = str(error.orig).lower()
        return "locked" in message or "busy" in message
    return True


#: New rows in one import or sync after which PostgreSQL's statistics of the tables it
#: wrote are refreshed at once (`refresh_statistics`).
MANY_NEW_ROWS = 500


def refresh_statistics(session: Session, tables: Sequence[str], new_rows: int) -> None:
    """After `new_rows` (at least MANY_NEW_ROWS) new rows in `tables`, bring PostgreSQL's
    statistics of them up to date in this transaction. Its planner chooses an index or a
    scan by them, and autovacuum refreshes them only a minute or more later: a lookup of a
    thousand ids straight after a large first import or sync then scanned the whole table
    each time (a re-import of 20,000 students took a minute instead of seconds)."""
    if new_rows >= MANY_NEW_ROWS and session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def insert_new(target: Any, dialect: str, unique: Sequence[str]) -> Any:
    """An INSERT into `target` (a model or a table) in `dialect`'s SQL that inserts nothing
    for a row whose `unique` columns match a stored row's (ON CONFLICT DO NOTHING)."""
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    return builder(target).on_conflict_do_nothing(index_elements=list(unique))


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`, to keep an `IN (…)` list under a database's limit on
    bound values (SQLite's is 32,766)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
