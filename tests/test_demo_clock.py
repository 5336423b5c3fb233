"""The demo's clock: a newcomer at any hour sees a school morning, and the command line
reads the same time as `narvaro run`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.context import build_context
from bot.demo import load_demo_if_empty, periods, start_demo_clock
from bot.settings import load_settings
from policy.calendar import DateRange, SchoolCalendar
from policy.clock import Clock
from policy.demo_clock import next_school_morning
from policy.presets import load_policy
from storage.db import session_scope
from tests.rosters import GOOD_STUDENTS, STAFF, write

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SATURDAY_EVENING = datetime(2026, 11, 21, 20, 0, tzinfo=STOCKHOLM)


def test_the_next_school_morning() -> None:
    """Before 07:50 on a school day: that morning; later, or on a day off: the next one."""
    calendar = SchoolCalendar("SE", breaks=(DateRange(date(2026, 12, 21), date(2027, 1, 8)),))
    monday = datetime(2026, 11, 23, 6, 0, tzinfo=STOCKHOLM)
    assert next_school_morning(monday, calendar) == monday.replace(hour=7, minute=50)
    assert next_school_morning(monday.replace(hour=16), calendar) == datetime(
        2026, 11, 24, 7, 50, tzinfo=STOCKHOLM)
    assert next_school_morning(SATURDAY_EVENING, calendar) == datetime(
        2026, 11, 23, 7, 50, tzinfo=STOCKHOLM)
    christmas = datetime(2026, 12, 18, 9, 0, tzinfo=STOCKHOLM)  # a Friday, then the break
    assert next_school_morning(christmas, calendar) == datetime(
        2027, 1, 11, 7, 50, tzinfo=STOCKHOLM)


def test_the_demo_year_follows_the_calendar() -> None:
    """The demo's terms are those of the school year of the day it is loaded."""
    assert periods(date(2031, 3, 2))[0][2:] == (date(2030, 8, 18), date(2030, 12, 18))
    assert periods(date(2031, 8, 2))[1][2:] == (date(2032, 1, 11), date(2032, 6, 11))


@pytest.fixture
def demo(narvaro_env: dict[str, str], engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The demo school, loaded on a Saturday evening, and no NARVARO_CLOCK_START."""
    monkeypatch.delenv("NARVARO_CLOCK_START")
    with session_scope(engine) as session:
        assert load_demo_if_empty(session, policy=load_policy("ljusnarsberg"),
                                  timezone="Europe/Stockholm", now=SATURDAY_EVENING)
    return engine


def local(instant: datetime) -> datetime:
    """An instant in Stockholm, to the minute."""
    return instant.astimezone(STOCKHOLM).replace(second=0, microsecond=0)


def test_run_starts_the_demo_on_a_school_morning_and_the_cli_shares_it(
    demo: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """On a Saturday evening the demo's time is Monday 07:50; `tick` and the lists run on
    that time; a school's own roster ends the demo and its clock."""
    clock = Clock(SATURDAY_EVENING)
    with session_scope(demo) as session:
        started = start_demo_clock(session, clock)
    monday_morning = datetime(2026, 11, 23, 7, 50, tzinfo=STOCKHOLM)
    assert started is not None and local(started) == monday_morning
    context = build_context(load_settings())
    assert local(context.clock.now()) == monday_morning
    context.engine.dispose()
    capsys.readouterr()
    assert main(["tick"]) == 0
    assert local(datetime.fromisoformat(json.loads(capsys.readouterr().out)["now"])) == (
        monday_morning)

    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    context = build_context(load_settings())
    assert abs(context.clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    context.engine.dispose()


def test_a_demo_clock_in_school_hours_is_left_alone(demo: Engine) -> None:
    """A demo restarted on a school day at 10:00 keeps its time (it never goes back)."""
    ten = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
    with session_scope(demo) as session:
        started = start_demo_clock(session, Clock(ten))
    assert started is not None and local(started) == ten
