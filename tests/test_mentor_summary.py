"""The mentor's morning summary of the day's reported absences: one message, categories only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from policy.presets import load_policy
from policy.reporting import check_report_days
from scheduler.summaries import send_mentor_summaries
from storage.db import make_engine, session_scope
from storage.models import Absence, OutboxMessage, Person, Student
from storage.reports import cancel_report, save_report
from storage.schools import school_calendar
from tests.telegram_harness import MENTOR_PHONE, import_roster

MONDAY = date(2026, 11, 23)


@pytest.fixture
def roster(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The transcript tests' roster, imported through the real command."""
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def report(engine: Engine, student_id: str, guardian_phone: str, reason: str, note: str | None,
           now: datetime) -> None:
    """A guardian's report for today, stored as the dialog stores it."""
    with session_scope(engine) as session:
        student = session.exec(select(Student).where(Student.external_id == student_id)).one()
        guardian = session.exec(select(Person).where(Person.phone == guardian_phone)).one()
        from storage.models import School
        school = session.get(School, student.school_id)
        assert school is not None
        days = check_report_days(school_calendar(session, school), load_policy("ljusnarsberg"),
                                 first=MONDAY, last=MONDAY, today=MONDAY)
        save_report(session, student=student, reporter=guardian, channel="telegram", days=days,
                    reason=reason, note=note, now=now)


def summaries(engine: Engine) -> list[OutboxMessage]:
    """The summaries queued so far."""
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("mentor-summary:"))))


def test_one_summary_per_mentor_and_day_without_notes(roster: Engine) -> None:
    """Two reports → one message to the mentor at 07:30, naming categories, never the note."""
    early = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 06:00 in Stockholm
    report(roster, "N001", "+46701234502", "sick", "Feber och ont i magen", early)
    report(roster, "N004", "+4520123404", "medical", None, early)
    with session_scope(roster) as session:
        assert send_mentor_summaries(session, early) == 0  # before the summary time
    at_0745 = datetime(2026, 11, 23, 6, 45, tzinfo=UTC)
    for expected in (1, 0):  # a second sweep sends nothing more
        with session_scope(roster) as session:
            assert send_mentor_summaries(session, at_0745) == expected
    [summary] = summaries(roster)
    assert summary.text.splitlines() == [
        "Anmäld frånvaro idag:",
        "• Ali Hassan (7A): Sjuk",
        "• Emil Holm (7A): Läkar- eller tandläkarbesök",
    ]
    assert "Feber" not in summary.text
    with Session(roster) as session:
        mentor = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        assert (summary.recipient_id, summary.channel) == (mentor.id, "auto")


def test_no_summary_after_noon_or_for_cancelled_reports(roster: Engine) -> None:
    """A cancelled report is not summarised; after noon the morning summary is skipped."""
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    report(roster, "N001", "+46701234502", "sick", None, now)
    with session_scope(roster) as session:
        [saved] = session.exec(select(Absence)).all()
        from storage.models import AbsenceReport
        ali_report = session.exec(select(AbsenceReport)).one()
        guardian = session.exec(select(Person).where(Person.phone == "+46701234502")).one()
        cancel_report(session, ali_report, by=guardian, now=now, from_day=MONDAY)
        assert saved.state in {"reported", "withdrawn"}
    with session_scope(roster) as session:
        assert send_mentor_summaries(session, datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) == 0
    report(roster, "N004", "+4520123404", "sick", None, now)
    with session_scope(roster) as session:
        assert send_mentor_summaries(session, datetime(2026, 11, 23, 12, 0, tzinfo=UTC)) == 0
    assert main(["tick", "--now", "2026-11-23T07:40:00+01:00"]) == 0
    assert len(summaries(roster)) == 1
