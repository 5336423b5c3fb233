"""Reports meet roll call: what a report excuses, before or after the roll call, and undoing it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from policy.presets import load_policy
from policy.reporting import check_report_days
from storage.db import make_engine, session_scope
from storage.models import Absence, AbsenceReport, Person, School, Student
from storage.reports import cancel_report, save_report
from storage.schools import school_calendar
from tests.rosters import write
from tests.telegram_harness import import_roster

MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OMAR = "+46701234502"


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The transcript roster, imported through the real command."""
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def roll_call(tmp_path: Path, *rows: str) -> None:
    """Import roll-call rows (date,student_id,status,lesson_start,lesson_end,minutes_late)."""
    text = "date,student_id,status,lesson_start,lesson_end,minutes_late\n" + "\n".join(rows)
    assert main(["attendance", "import", write(tmp_path, "roll.csv", text + "\n")]) == 0


def report(
    engine: Engine, first: date, last: date, *, part: tuple[time, time] | None = None,
    today: date = MONDAY,
) -> str:
    """Ali's guardian reports him sick; returns the reference."""
    with session_scope(engine) as session:
        ali = session.exec(select(Student).where(Student.external_id == "N001")).one()
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
        school = session.get(School, ali.school_id)
        assert school is not None
        days = check_report_days(
            school_calendar(session, school), load_policy("ljusnarsberg"), first=first,
            last=last, today=today, part_start=part[0] if part else None,
            part_end=part[1] if part else None,
        )
        saved = save_report(session, student=ali, reporter=omar, channel="sms", days=days,
                            reason="sick", note=None, now=NOW)
        return saved.report.reference


def states(engine: Engine) -> list[tuple[str, str, str]]:
    """(slot, state, source) of Ali's absences today."""
    with Session(engine) as session:
        rows = session.exec(select(Absence).where(Absence.day == MONDAY).order_by(Absence.slot))
        return [(a.slot, a.state, a.source) for a in rows]


def cancel(engine: Engine, reference: str) -> None:
    """Omar cancels his report."""
    with session_scope(engine) as session:
        saved = session.exec(select(AbsenceReport).where(
            AbsenceReport.reference == reference)).one()
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
        cancel_report(session, saved, by=omar, now=NOW, from_day=MONDAY)


def test_a_report_after_the_roll_call_excuses_even_an_unexcused_absence(
    db: Engine, tmp_path: Path
) -> None:
    """Roll call first (and the notice's "unexcused"), the report after: both become reported."""
    roll_call(tmp_path, "2026-11-23,N001,absent,08:15,09:00,",
              "2026-11-23,N001,absent,09:15,10:00,")
    with session_scope(db) as session:
        first = session.exec(select(Absence).where(Absence.slot == "08:15")).one()
        first.state = "unexcused"  # as the same-day notice will leave it
    report(db, MONDAY, MONDAY)
    assert states(db) == [("08:15", "reported", "import"), ("09:15", "reported", "import")]


def test_a_report_before_the_roll_call_excuses_what_roll_call_then_records(
    db: Engine, tmp_path: Path
) -> None:
    """A whole-day report, then lessons marked absent: reported; a 'present' withdraws."""
    report(db, MONDAY, MONDAY)
    assert states(db) == [("day", "reported", "report")]
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N001,absent,10:15,11:00,")
    assert states(db) == [("10:15", "reported", "import"), ("day", "reported", "import")]
    roll_call(tmp_path, "2026-11-23,N001,present,10:15,11:00,")
    assert states(db)[0] == ("10:15", "withdrawn", "import")


def test_part_of_a_day_excuses_only_its_lessons(db: Engine, tmp_path: Path) -> None:
    """08:15–10:00 covers the 08:15 lesson, not the 10:15 one."""
    roll_call(tmp_path, "2026-11-23,N001,absent,08:15,09:00,",
              "2026-11-23,N001,absent,10:15,11:00,")
    report(db, MONDAY, MONDAY, part=(time(8, 15), time(10, 0)))
    assert states(db) == [("08:15", "reported", "import"), ("10:15", "open", "import")]


def test_cancelling_undoes_exactly_what_the_report_did(db: Engine, tmp_path: Path) -> None:
    """Roll-call absences go back to open; absences only the report made are withdrawn."""
    reference = report(db, MONDAY, date(2026, 11, 24))
    roll_call(tmp_path, "2026-11-23,N001,absent,,,")
    cancel(db, reference)
    assert states(db) == [("day", "open", "import")]
    with Session(db) as session:
        tuesday = session.exec(select(Absence).where(Absence.day == date(2026, 11, 24))).one()
        assert (tuesday.state, tuesday.source) == ("withdrawn", "report")


def test_a_late_report_excuses_nothing(db: Engine, tmp_path: Path) -> None:
    """Reported on Friday for Monday (deadline Thursday): kept, but the absence stays open."""
    roll_call(tmp_path, "2026-11-23,N001,absent,,,")
    report(db, MONDAY, MONDAY, today=date(2026, 11, 27))
    assert states(db) == [("day", "open", "import")]
    with Session(db) as session:
        saved = session.exec(select(AbsenceReport)).one()
        assert (saved.on_time, saved.late_days) == (False, ["2026-11-23"])


def test_roll_call_replaces_the_placeholder_a_report_made(db: Engine, tmp_path: Path) -> None:
    """A whole-day report before roll call, then two lessons absent: the lessons hold it."""
    report(db, MONDAY, MONDAY)
    roll_call(tmp_path, "2026-11-23,N001,absent,08:15,09:00,",
              "2026-11-23,N001,absent,09:15,10:00,")
    assert states(db) == [("08:15", "reported", "import"), ("09:15", "reported", "import"),
                          ("day", "withdrawn", "report")]


def test_cancelling_midway_keeps_the_days_gone_by(db: Engine, tmp_path: Path) -> None:
    """Mon–Wed reported, cancelled on Tuesday: Monday stays reported; the rest is withdrawn."""
    reference = report(db, MONDAY, date(2026, 11, 25))
    roll_call(tmp_path, "2026-11-23,N001,absent,,,")
    with session_scope(db) as session:
        saved = session.exec(select(AbsenceReport).where(
            AbsenceReport.reference == reference)).one()
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
        cancel_report(session, saved, by=omar, now=NOW, from_day=date(2026, 11, 24))
    with Session(db) as session:
        saved = session.exec(select(AbsenceReport)).one()
        assert (saved.last_day, saved.cancelled_at) == (MONDAY, None)
        by_day = {(a.day.day, a.state, a.source) for a in session.exec(select(Absence))}
    assert by_day == {(23, "reported", "import"), (24, "withdrawn", "report"),
                      (25, "withdrawn", "report")}
