"""Guardians' reports back to the SS 12000 server as `Anmäld frånvaro`: queued with the
report, retried, never lost, never written twice; a cancelled report as the standard
allows (it has no delete). Against the fake server, through the real HTTP client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import build_context
from bot.school_system import build_connector, health_of
from bot.settings import load_settings
from connectors.ss12000.reports import ReportWriter
from policy.clock import Clock
from policy.reporting import ReportDays
from storage.db import make_engine, session_scope
from storage.models import AbsenceReport, ConnectorOutbox, Person, Student
from storage.reports import cancel_report, save_report
from tests.fakes.ss12000_api import FakeSS12000
from tests.fakes.ss12000_data import Dataset, generate
from tests.test_ss12000_sync import DAY, NOW, mobile

pytestmark = pytest.mark.postgresql

TUESDAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def data() -> Dataset:
    """A small municipality."""
    return generate(students=60, schools=2, day=DAY, seed=23)


@pytest.fixture
def server(data: Dataset) -> Iterator[FakeSS12000]:
    """The fake server with the data set."""
    with FakeSS12000() as fake:
        data.load_into(fake)
        yield fake


@pytest.fixture
def db(narvaro_env: dict[str, str], server: FakeSS12000, data: Dataset,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Synced once, through the command."""
    units = [u["schoolUnitCode"] for u in data.units if u["organisationType"] == "Skolenhet"]
    for name, value in server.env(*units).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NARVARO_CLOCK_START", NOW)
    assert main(["sync", "ss12000"]) == 0
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def report(db: Engine, data: Dataset, student: str, *, first: date = DAY,
           last: date = DAY) -> int:
    """The student's first guardian reports `first`..`last` (as the dialog saves it)."""
    guardian = data.guardians(student)[0]
    with session_scope(db) as session:
        row = session.exec(select(Student).where(Student.external_id == student)).one()
        person = session.exec(select(Person).where(Person.phone == mobile(guardian))).one()
        days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
        saved = save_report(session, student=row, reporter=person, channel="sms",
                            days=ReportDays(first, last, school_days=days), reason="sick",
                            note=None, now=datetime.fromisoformat(NOW))
        assert saved.report.id is not None
        return saved.report.id


def queue(db: Engine) -> list[tuple[str, str]]:
    """The report queue: (key, status)."""
    with Session(db) as session:
        return [(row.dedupe_key, row.status) for row in session.exec(
            select(ConnectorOutbox).order_by(col(ConnectorOutbox.id))).all()]


def writer(db: Engine, *, timeout: float = 30.0) -> tuple[ReportWriter, Clock]:
    """The report writer as `narvaro run` builds it (with a shorter wait, if asked)."""
    context = build_context(load_settings(), migrate=False)
    connector = build_connector(context.settings, db, context.clock, context.policy)
    assert connector is not None
    config = dataclasses.replace(connector.config, timeout=timeout)
    return ReportWriter(config, db, context.clock), context.clock


def test_a_report_is_written_back_once_as_anmald_franvaro(
    db: Engine, server: FakeSS12000, data: Dataset
) -> None:
    """Student, unit, the day in the school's time and the guardian as registeredBy; a second
    round writes nothing more."""
    student = data.students[0]
    report(db, data, student)
    assert queue(db)[0][1] == "pending"
    assert main(["sync", "ss12000"]) == 0
    [written] = server.absences()
    assert written["type"] == "Anmäld frånvaro"
    assert written["student"] == {"id": student}
    assert written["organisation"] == {"id": data.unit_of[student]}
    assert written["registeredBy"] == {"id": data.guardians(student)[0]["id"]}
    assert written["startTime"] == "2026-11-23T00:00:00+01:00"
    assert written["endTime"] == "2026-11-23T23:59:59+01:00"
    assert main(["sync", "ss12000"]) == 0
    assert len(server.absences()) == 1
    assert queue(db)[0][1] == "sent"


def test_a_lost_answer_is_checked_before_writing_again(
    db: Engine, server: FakeSS12000, data: Dataset
) -> None:
    """The server stores the absence but its answer never comes: the next round finds it
    there (GET /absences) and does not write it twice."""
    report(db, data, data.students[1])
    server.stall("POST", "absences", 2.0)
    push, clock = writer(db, timeout=0.5)
    assert push.push() == {"retry": 1}
    assert len(server.absences()) == 1
    assert push.push() == {}  # not due yet
    clock.advance(timedelta(minutes=1))
    assert push.push() == {"sent": 1}
    assert len(server.absences()) == 1
    assert queue(db)[0][1] == "sent"


def test_an_unreachable_server_keeps_the_report_until_it_answers(
    db: Engine, server: FakeSS12000, data: Dataset
) -> None:
    """An outage (503) keeps the report and tries again later; a
    refusal (403: the vendor has not allowed writing) ends it, shown on /healthz."""
    report(db, data, data.students[2])
    server.fail_next("POST", "absences", 503)
    push, clock = writer(db)
    assert push.push() == {"retry": 1}
    assert server.absences() == []
    clock.advance(timedelta(minutes=1))
    assert push.push() == {"sent": 1}
    assert len(server.absences()) == 1

    report(db, data, data.students[5])
    server.deny("POST", "absences")
    assert push.push() == {"failed": 1}
    assert health_of(db)()["connectors"]["ss12000"]["reports"]["failed"] == 1


def test_a_cancelled_report_is_withdrawn_or_marked_for_the_school(
    db: Engine, server: FakeSS12000, data: Dataset
) -> None:
    """Cancelled before it was written: nothing goes. Cancelled after: SS 12000 has no
    delete, so it stays there and is marked for the school to correct (on /healthz)."""
    early = report(db, data, data.students[3])
    late = report(db, data, data.students[4], first=DAY, last=TUESDAY)
    with session_scope(db) as session:
        row = session.get(AbsenceReport, early)
        assert row is not None
        by = session.get(Person, row.reporter_id)
        assert by is not None
        cancel_report(session, row, by=by, now=datetime.fromisoformat(NOW), from_day=DAY)
    assert main(["sync", "ss12000"]) == 0
    [written] = server.absences()
    assert written["student"] == {"id": data.students[4]}
    with session_scope(db) as session:
        row = session.get(AbsenceReport, late)
        assert row is not None
        by = session.get(Person, row.reporter_id)
        assert by is not None
        cancel_report(session, row, by=by, now=datetime.fromisoformat(NOW), from_day=TUESDAY)
    assert [status for _key, status in queue(db)] == ["withdrawn", "sent", "to_correct"]
    assert len(server.absences()) == 1
    health = health_of(db)()["connectors"]["ss12000"]
    assert health["reports"] == {"waiting": 0, "failed": 0, "to_correct": 1, "maybe_sent": 0}
    assert health["last_success"] is not None and health["error"] is None
