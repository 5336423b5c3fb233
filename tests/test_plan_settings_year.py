"""What a school notices in week one, through the commands: the same-day notice follows the
plan (and the school's own word), and a school without terms is told, and counts with its
country's default school year (Christmas and summer are not school days)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from policy.calendar import DateRange, SchoolCalendar
from policy.ladder import term_of
from storage.models import Absence, OutboxMessage, School, StaffTask
from storage.schools import school_calendar
from tests.rosters import write
from tests.test_ladder_term import db as db  # the transcript roster: Noor N003 in 7A

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"


def absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    """Noor absent the whole `day`, imported at 08:20."""
    monkeypatch.setenv("NARVARO_CLOCK_START", f"{day}T08:20:00+01:00")
    assert main(["attendance", "import", write(tmp_path, f"r-{day}.csv",
                                               HEADER + f"{day},N003,absent,,,\n")]) == 0


def told(db: Engine) -> tuple[int, int]:
    """Same-day notices to guardians, and the mentor's call prompts."""
    with Session(db) as session:
        return (len(session.exec(select(OutboxMessage).where(
                    col(OutboxMessage.dedupe_key).startswith("absence-notice:"))).all()),
                len(session.exec(select(StaffTask).where(
                    col(StaffTask.dedupe_key).startswith("call-home:"))).all()))


def test_the_same_day_notice_follows_the_plan_and_the_school(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lyngen's plan has no same-day notice: the absence is unexcused at the cutoff, nobody is
    told, no call prompt; the school turns it on and the next absence is told."""
    assert main(["school", "set", "Norrskolan", "--policy", "lyngen"]) == 0
    absent(tmp_path, monkeypatch, "2026-11-23")
    assert main(["tick", "--now", "2026-11-23T08:46:00+01:00"]) == 0
    assert told(db) == (0, 0)
    with Session(db) as session:
        assert [a.state for a in session.exec(select(Absence))] == ["unexcused"]
    assert main(["school", "set", "Norrskolan", "--notice", "same_day_notice=maybe"]) == 2
    assert main(["school", "set", "Norrskolan", "--notice", "same_day_notice=on"]) == 0
    absent(tmp_path, monkeypatch, "2026-11-24")
    assert main(["tick", "--now", "2026-11-24T08:46:00+01:00"]) == 0
    notices, calls = told(db)
    assert notices >= 1 and calls == 1


def test_a_school_without_terms_is_warned_and_uses_the_default_year(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`school set` warns until terms are imported; the monthly review says so; Christmas
    weekdays are no school days meanwhile; imported terms replace the default year."""
    capsys.readouterr()
    assert main(["school", "set", "Norrskolan", "--language", "sv"]) == 0
    assert "has no terms imported" in capsys.readouterr().out
    assert main(["review", "--school", "Norrskolan", "--month", "2026-11"]) == 0
    assert "Inga terminer importerade än" in capsys.readouterr().out
    with Session(db) as session:
        school = session.exec(select(School)).one()
        calendar = school_calendar(session, school)
    assert calendar.is_school_day(date(2026, 12, 16))
    assert not calendar.is_school_day(date(2026, 12, 28))  # Christmas break
    assert not calendar.is_school_day(date(2027, 7, 5))  # summer
    assert term_of(calendar, date(2026, 11, 23)).start == date(2026, 8, 20)
    assert term_of(calendar, date(2027, 7, 5)).start == date(2027, 1, 8)  # the one before
    assert main(["calendar", "import", write(
        tmp_path, "terms.csv", "school,kind,name,start,end\n"
        "Norrskolan,term,HT26,2026-08-17,2026-12-22\n")]) == 0
    capsys.readouterr()
    assert main(["school", "set", "Norrskolan", "--language", "sv"]) == 0
    assert "has no terms" not in capsys.readouterr().out
    assert main(["review", "--school", "Norrskolan", "--month", "2026-11"]) == 0
    assert "Inga terminer" not in capsys.readouterr().out
    # Without the default year (a calendar built by hand), every weekday is a school day.
    assert SchoolCalendar("SE").is_school_day(date(2026, 12, 28))
    assert SchoolCalendar("SE", (DateRange(date(2026, 8, 17), date(2026, 12, 22)),)
                          ).is_school_day(date(2026, 12, 22))
