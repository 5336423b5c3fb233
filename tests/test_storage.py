"""Storage on every backend: migrations, UTC instants, the outbox and its claims."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

from bot.channels.local import WebChatChannel
from bot.dispatcher import Dispatcher
from policy.clock import Clock
from storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    Busy,
    alembic_config,
    can_run_at_once,
    database_busy,
    head_revision,
    make_engine,
    read_scope,
    schema_current,
    session_scope,
    upgrade,
)
from storage.models import AbsenceReport, OutboxMessage, Person, School, SchoolClass, Student
from storage.outbox import MAX_ATTEMPTS, MessageKind, claim_due, enqueue
from storage.people import student_names_at
from storage.reports import _insert_report

pytestmark = pytest.mark.postgresql

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def add_person(engine: Engine, name: str = "Mona", language: str = "sv") -> int:
    """A person to send to; returns the id."""
    with session_scope(engine) as session:
        person = Person(name=name, language=language, created_at=NOW, updated_at=NOW)
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id


def test_migrations_match_the_models_and_rerun(blank_database_url: str) -> None:
    """The schema the migrations build from nothing is the one the models describe;
    upgrading twice is safe."""
    engine = make_engine(blank_database_url)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    engine.dispose()


def test_a_command_knows_the_schema_is_current_from_one_query(
        blank_database_url: str) -> None:
    """The newest revision read from the migration files is Alembic's head; a database not
    migrated, or at another revision, is not current (and gets Alembic), one upgraded is."""
    engine = make_engine(blank_database_url)
    assert head_revision() == ScriptDirectory.from_config(
        alembic_config(engine)).get_current_head()
    assert not schema_current(engine)
    upgrade(engine)
    assert schema_current(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not schema_current(engine)
    engine.dispose()


def test_a_reader_waits_for_no_writer_and_writes_nothing(engine: Engine) -> None:
    """A read_scope session reads what is committed while a write is under way (on SQLite
    it takes no write lock, so it is not held up until the writer ends), and a change made
    in it is refused rather than written or dropped."""
    mona = add_person(engine)
    with session_scope(engine) as writer:
        writer.add(Person(name="Lena", language="sv", created_at=NOW, updated_at=NOW))
        writer.flush()
        with read_scope(engine) as reader:
            assert [person.name for person in reader.exec(select(Person))] == ["Mona"]
    with pytest.raises(RuntimeError, match="read_scope"), read_scope(engine) as reader:
        changed = reader.get(Person, mona)
        assert changed is not None
        changed.name = "Mona Changed"
    with read_scope(engine) as reader:
        names = sorted(person.name for person in reader.exec(select(Person)))
    assert names == ["Lena", "Mona"]


def test_a_session_that_cannot_wait_says_busy_and_leaves_everything_as_it_was(
    engine: Engine, database_url: str
) -> None:
    """`session_scope(wait=False)` (a message handled on the event loop) raises Busy at once
    while this process's other writer or another process has SQLite's write lock, writes
    nothing then, and leaves the connection waiting as long as usual for the next writer;
    when the database is free it commits like any session. PostgreSQL never runs at once."""
    if not database_url.startswith("sqlite"):
        assert not can_run_at_once(engine)
        with pytest.raises(ValueError, match="SQLite"), session_scope(engine, wait=False):
            pass
        return
    assert can_run_at_once(engine)
    taken, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with session_scope(engine):
            taken.set()
            release.wait()

    thread = threading.Thread(target=other_writer)
    thread.start()
    taken.wait()
    try:
        with pytest.raises(Busy), session_scope(engine, wait=False) as session:
            session.add(Person(name="Mona", language="sv", created_at=NOW, updated_at=NOW))
    finally:
        release.set()
        thread.join()
    path = database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path, isolation_level=None)) as other_process:
        other_process.execute("BEGIN IMMEDIATE")
        with pytest.raises(Busy), session_scope(engine, wait=False) as session:
            session.add(Person(name="Mona", language="sv", created_at=NOW, updated_at=NOW))
        other_process.execute("ROLLBACK")
    with session_scope(engine, wait=False) as session:
        session.add(Person(name="Lena", language="sv", created_at=NOW, updated_at=NOW))
        used = session.connection().connection.dbapi_connection
    assert used is not None
    with session_scope(engine) as session:
        assert [p.name for p in session.exec(select(Person))] == ["Lena"]
        waits = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
    # Only the sessions that refuse to wait have connections that never wait.
    assert (used.execute("PRAGMA busy_timeout").fetchone(), waits) == (
        (0,), SQLITE_BUSY_TIMEOUT_MS)


def test_sqlites_busy_timeout_is_the_urls_own_when_it_gives_one(tmp_path: Path) -> None:
    """A writer waits 10 s for another's lock, or as many seconds as the URL's `timeout`
    says (pysqlite's own option); a session that cannot wait never does."""
    for url, expected in ((f"sqlite:///{tmp_path / 'a.db'}", SQLITE_BUSY_TIMEOUT_MS),
                          (f"sqlite:///{tmp_path / 'b.db'}?timeout=1.5", 1_500),
                          (f"sqlite:///{tmp_path / 'c.db'}?timeout=0", 0)):
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                waits = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
            with session_scope(engine, wait=False) as session:
                never = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        finally:
            engine.dispose()
        assert (waits, never) == (expected, 0)
    # A timeout of 0 waits for nothing, yet is an ordinary engine: a transaction that finds
    # the lock taken fails as SQLite says, it does not claim to be one that never waits.
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}?timeout=0")
    try:
        with closing(sqlite3.connect(tmp_path / "c.db", isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError), session_scope(engine) as session:
                session.connection()  # BEGIN IMMEDIATE
            other.execute("ROLLBACK")
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="timeout"):
        make_engine(f"sqlite:///{tmp_path / 'd.db'}?timeout=soon")


def test_instants_come_back_aware_in_utc(engine: Engine) -> None:
    """A time given in Stockholm time is stored as UTC and read back timezone-aware."""
    stockholm = timezone(timedelta(hours=1))
    with session_scope(engine) as session:
        person = Person(name="A", language="sv", created_at=datetime(2026, 11, 23, 8, 0,
                        tzinfo=stockholm), updated_at=NOW)
        session.add(person)
    with Session(engine) as session:
        stored = session.exec(select(Person)).one()
        assert stored.created_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
        assert stored.created_at.tzinfo is not None


def test_enqueue_is_deduplicated(engine: Engine) -> None:
    """The same dedupe key enqueues once, however often the decision is repeated."""
    person_id = add_person(engine)
    results = []
    for _ in range(3):
        with session_scope(engine) as session:
            results.append(enqueue(session, dedupe_key="notice:1:2026-11-23",
                                   kind=MessageKind.NOTICE, recipient_id=person_id,
                                   channel="webchat", language="sv", text="Hej", now=NOW))
    assert results == [True, False, False]
    with Session(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_rolled_back_decision_leaves_no_message(engine: Engine) -> None:
    """A message is written in the decision's transaction: no decision, no message."""
    person_id = add_person(engine)
    try:
        with session_scope(engine) as session:
            enqueue(session, dedupe_key="k", kind=MessageKind.NOTICE,
                    recipient_id=person_id, channel="webchat", language="sv", text="Hej",
                    now=NOW)
            raise RuntimeError("the decision failed")
    except RuntimeError:
        pass
    with Session(engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_claims_do_not_overlap_and_respect_not_before(engine: Engine) -> None:
    """Two claims never take the same row; a message due later waits."""
    person_id = add_person(engine)
    with session_scope(engine) as session:
        for n in range(5):
            enqueue(session, dedupe_key=f"k{n}", kind=MessageKind.NOTICE,
                    recipient_id=person_id, channel="webchat", language="sv", text=f"m{n}",
                    now=NOW)
        enqueue(session, dedupe_key="later", kind=MessageKind.NOTICE,
                recipient_id=person_id, channel="webchat",
                language="sv", text="later", now=NOW, not_before=NOW + timedelta(hours=1))
    with session_scope(engine) as session:
        first = [m.text for m in claim_due(session, now=NOW, limit=3)]
    with session_scope(engine) as session:
        second = [m.text for m in claim_due(session, now=NOW, limit=10)]
    assert first == ["m0", "m1", "m2"]
    assert second == ["m3", "m4"]
    with session_scope(engine) as session:
        assert [m.text for m in claim_due(session, now=NOW + timedelta(hours=2))] == ["later"]


class BrokenChannel:
    """A channel whose provider is down."""

    name = "sms"
    delivers_locally = False

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Always fail like an unreachable provider."""
        raise ConnectionError("provider unreachable")


async def test_dispatcher_delivers_and_retries_with_backoff(engine: Engine) -> None:
    """Web chat messages are delivered; a failing channel is retried later, then given up."""
    person_id = add_person(engine)
    with session_scope(engine) as session:
        enqueue(session, dedupe_key="a", kind=MessageKind.NOTICE,
                recipient_id=person_id, channel="webchat",
                language="sv", text="Hej", now=NOW)
        enqueue(session, dedupe_key="b", kind=MessageKind.NOTICE,
                recipient_id=person_id, channel="sms",
                language="sv", text="Hej", now=NOW)
    clock = Clock(NOW)
    dispatcher = Dispatcher(engine, clock, {"webchat": WebChatChannel(), "sms": BrokenChannel()})
    assert await dispatcher.dispatch_once() == 1
    with Session(engine) as session:
        rows = {m.dedupe_key: m for m in session.exec(select(OutboxMessage))}
    assert rows["a"].status == "delivered" and rows["a"].delivered_at is not None
    assert (rows["b"].status, rows["b"].attempts) == ("pending", 1)
    assert rows["b"].last_error == "ConnectionError"
    assert rows["b"].not_before > clock.now()
    assert await dispatcher.dispatch_once() == 0  # not due again yet
    for _ in range(MAX_ATTEMPTS):
        clock.advance(timedelta(hours=1))
        await dispatcher.dispatch_once()
    with Session(engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == "b")).one()
    assert (failed.status, failed.attempts) == ("failed", MAX_ATTEMPTS)


def test_only_a_busy_or_unreachable_database_is_worth_waiting_for() -> None:
    """A locked SQLite file is busy; a missing table is not; nor is an error that is not
    the database's."""
    assert database_busy(OperationalError("UPDATE person", {}, sqlite3.OperationalError(
        "database is locked")))
    assert not database_busy(OperationalError("UPDATE person", {}, sqlite3.OperationalError(
        "no such table: person")))
    assert not database_busy(ValueError("not a database error"))


def add_school(engine: Engine, name: str, students: list[str]) -> tuple[int, int, list[int]]:
    """A school with one class and these students; its id, the class's and the students'."""
    with session_scope(engine) as session:
        school = School(name=name, country="SE", timezone="Europe/Stockholm", language="sv",
                        policy="se_ljusnarsberg", created_at=NOW)
        session.add(school)
        session.flush()
        assert school.id is not None
        group = SchoolClass(school_id=school.id, name="7A")
        session.add(group)
        session.flush()
        assert group.id is not None
        ids = []
        for n, student_name in enumerate(students):
            person = Person(name=student_name, language="sv", created_at=NOW, updated_at=NOW)
            session.add(person)
            session.flush()
            assert person.id is not None
            student = Student(school_id=school.id, class_id=group.id,
                              external_id=f"S{n}", person_id=person.id)
            session.add(student)
            session.flush()
            assert student.id is not None
            ids.append(student.id)
        return school.id, group.id, ids


def test_a_schools_names_are_read_again_whenever_its_roster_changes(engine: Engine) -> None:
    """Each message compares its words with the names at the writer's school; they are
    kept between messages and read again after any change to them, whichever program
    (this one, or another on the same database) made it."""
    def names(*schools: int) -> list[str]:
        with session_scope(engine) as session:
            return sorted(student_names_at(session, list(schools)))

    north, _class, _students = add_school(engine, "Norra", ["Elsa Berg", "Dag Olsen",
                                                            "Noah Berg"])
    south, south_class, _none = add_school(engine, "Södra", [])
    assert names(north) == ["Dag Olsen", "Elsa Berg", "Noah Berg"]
    assert names(south) == []
    assert names(north) == ["Dag Olsen", "Elsa Berg", "Noah Berg"]  # kept: read once more

    with session_scope(engine) as session:  # renamed by this program
        elsa = session.exec(select(Person).where(Person.name == "Elsa Berg")).one()
        elsa.name = "Elsa Lund"
    assert names(north) == ["Dag Olsen", "Elsa Lund", "Noah Berg"]

    with engine.begin() as connection:  # renamed and moved by another program
        connection.execute(text("UPDATE person SET name = 'Dag Ek' WHERE name = 'Dag Olsen'"))
        connection.execute(text(
            "UPDATE student SET school_id = :south, class_id = :class WHERE person_id = "
            "(SELECT id FROM person WHERE name = 'Noah Berg')"),
            {"south": south, "class": south_class})
    assert names(north) == ["Dag Ek", "Elsa Lund"]
    assert names(south) == ["Noah Berg"]
    assert names(north, south) == ["Dag Ek", "Elsa Lund", "Noah Berg"]

    with engine.begin() as connection:  # left the school
        connection.execute(text(
            "DELETE FROM student WHERE person_id = (SELECT id FROM person WHERE name = 'Dag Ek')"))
    assert names(north) == ["Elsa Lund"]


def test_a_report_reference_already_taken_inserts_nothing(engine: Engine) -> None:
    """A new report's reference is drawn at random; one that is taken inserts nothing and
    gives no id, so another is drawn (never two reports under one reference)."""
    _school, _class, (student,) = add_school(engine, "Norra", ["Elsa Berg"])
    values = {"reference": "R-TAKEN", "student_id": student, "reporter_id": add_person(engine),
              "channel": "sms", "reported_at": NOW, "first_day": NOW.date(),
              "last_day": NOW.date(), "part_start": None, "part_end": None, "reason": "sick",
              "note": None, "on_time": True, "late_days": [], "cancelled_at": None}
    with session_scope(engine) as session:
        statement = _insert_report(session.get_bind().dialect.name)
        first = session.execute(statement, values).scalar()
        again = session.execute(statement, {**values, "reason": "other"}).scalar()
    assert first is not None and again is None
    with session_scope(engine) as session:
        stored = session.exec(select(AbsenceReport)).all()
    assert [(report.reference, report.reason) for report in stored] == [("R-TAKEN", "sick")]


def test_transactions_that_change_students_take_turns_and_never_deadlock(
    engine: Engine, database_url: str
) -> None:
    """On PostgreSQL the schools' new revisions are written when a change commits; two
    transactions that change students at two schools in opposite orders (two imports, an
    import and a `privacy forget`) take turns instead of deadlocking on the schools' rows.
    SQLite has one writer at a time anyway."""
    if not database_url.startswith("postgresql"):
        return
    north, _c, (elsa,) = add_school(engine, "Norra", ["Elsa Berg"])
    south, _c, (dag,) = add_school(engine, "Södra", ["Dag Olsen"])
    rename = text("UPDATE person SET name = :name WHERE id = "
                  "(SELECT person_id FROM student WHERE id = :id)")
    second_done = threading.Event()
    failures: list[BaseException] = []

    def second() -> None:  # south first, then north
        try:
            with engine.begin() as connection:
                connection.execute(rename, {"name": "Dag Ek", "id": dag})
                connection.execute(rename, {"name": "Elsa Lund", "id": elsa})
        except BaseException as error:  # reported by the test below
            failures.append(error)
        finally:
            second_done.set()

    with engine.begin() as first:  # north first, then south
        first.execute(rename, {"name": "Elsa Ek", "id": elsa})
        thread = threading.Thread(target=second)
        thread.start()
        with engine.connect() as watcher:
            deadline = time.monotonic() + 30
            while not watcher.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND wait_event = 'advisory'")).scalar():
                watcher.rollback()
                assert time.monotonic() < deadline, "the second never waited for its turn"
        assert not second_done.is_set()  # its turn comes when this one ends
        first.execute(rename, {"name": "Dag Berg", "id": dag})
    thread.join(timeout=30)
    assert not failures, failures
    with session_scope(engine) as session:
        assert list(student_names_at(session, [north, south])) == ["Elsa Lund", "Dag Ek"]


def test_a_change_rolled_back_leaves_no_names_behind(engine: Engine) -> None:
    """Names read inside a transaction that changed them are its own: once it rolls back,
    the names are the committed ones again (PostgreSQL sets the revision only at a commit,
    so such names are never kept)."""
    school, group, _students = add_school(engine, "Norra", ["Elsa Berg"])
    with session_scope(engine) as session:
        assert list(student_names_at(session, [school])) == ["Elsa Berg"]
    session = Session(engine)
    try:
        ghost = Person(name="Ghost Kid", language="sv", created_at=NOW, updated_at=NOW)
        session.add(ghost)
        session.flush()
        assert ghost.id is not None
        session.add(Student(school_id=school, class_id=group, external_id="G",
                            person_id=ghost.id))
        session.flush()
        assert sorted(student_names_at(session, [school])) == ["Elsa Berg", "Ghost Kid"]
    finally:
        session.rollback()
        session.close()
    with session_scope(engine) as session:
        assert list(student_names_at(session, [school])) == ["Elsa Berg"]
