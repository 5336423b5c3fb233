"""The report rules (days, deadline, horizon) and channel routing, as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from policy.calendar import DateRange, SchoolCalendar
from policy.presets import PRESETS
from policy.reporting import REFERENCE_ALPHABET, check_report_days, new_reference, part_overlaps
from policy.routing import Reachability, pick_channel

CALENDAR = SchoolCalendar("SE", breaks=(DateRange(date(2026, 12, 21), date(2027, 1, 6)),))
POLICY = PRESETS["ljusnarsberg"]
MONDAY = date(2026, 11, 23)


def check(first: date, last: date, today: date = MONDAY) -> tuple[object, ...]:
    """The interesting parts of a check."""
    days = check_report_days(CALENDAR, POLICY, first=first, last=last, today=today)
    return days.problem, days.school_days, days.late_days, days.skipped_days


def test_a_range_over_a_weekend_keeps_school_days_and_says_which_were_left_out() -> None:
    """Fri–Mon: two school days; Saturday and Sunday are pointed out."""
    problem, school, late, skipped = check(date(2026, 11, 27), date(2026, 11, 30))
    assert problem is None
    assert school == (date(2026, 11, 27), date(2026, 11, 30))
    assert late == ()
    assert skipped == (date(2026, 11, 28), date(2026, 11, 29))


def test_the_three_school_day_rule_splits_on_time_from_late() -> None:
    """On Thursday 26 Nov, Mon 23 is still on time (deadline Thursday); Fri 20 is late."""
    thursday = date(2026, 11, 26)
    problem, school, late, _ = check(date(2026, 11, 20), date(2026, 11, 23), thursday)
    assert problem is None and school == (date(2026, 11, 20), date(2026, 11, 23))
    assert late == (date(2026, 11, 20),)
    days = check_report_days(CALENDAR, POLICY, first=date(2026, 11, 20),
                             last=date(2026, 11, 23), today=thursday)
    assert not days.on_time and days.on_time_days == (date(2026, 11, 23),)


def test_deadline_follows_the_plan() -> None:
    """A plan with a five-day deadline keeps Fri 20 on time on Thursday 26."""
    lenient = replace(POLICY, report_deadline_school_days=5)
    days = check_report_days(CALENDAR, lenient, first=date(2026, 11, 20),
                             last=date(2026, 11, 20), today=date(2026, 11, 26))
    assert days.on_time


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [
        (date(2026, 11, 28), date(2026, 11, 29), "no_school_days"),  # a weekend
        (date(2026, 12, 22), date(2026, 12, 22), "no_school_days"),  # the Christmas break
        (date(2026, 12, 24), date(2026, 12, 24), "too_far_ahead"),   # 31 days ahead
        (date(2026, 10, 21), date(2026, 10, 21), "too_far_back"),    # 33 days back
        (date(2026, 12, 18), date(2026, 12, 18), None),              # last day before the break
    ],
)
def test_problems(first: date, last: date, problem: str | None) -> None:
    """Weekends and breaks hold nothing to report; the horizon is 30 days each way."""
    assert check(first, last)[0] == problem


def test_part_of_a_day_covers_the_lessons_that_start_within_it() -> None:
    """08:15–10:00 covers the 08:15 and 09:00 lessons, not 10:00 nor a whole-day record."""
    part = (time(8, 15), time(10, 0))
    assert part_overlaps(time(8, 15), time(9, 0), *part)
    assert part_overlaps(time(9, 0), time(9, 45), *part)
    assert not part_overlaps(time(10, 0), time(11, 0), *part)
    assert not part_overlaps(None, None, *part)
    assert part_overlaps(None, None, None, None)


def test_references_are_short_and_unambiguous() -> None:
    """R- and five characters without 0/O, 1/I/L-lookalikes."""
    references = {new_reference() for _ in range(200)}
    assert len(references) > 190
    for reference in references:
        assert reference.startswith("R-") and len(reference) == 7
        assert set(reference[2:]) <= set(REFERENCE_ALPHABET)
    assert not set("0O1IB8S5Z2") & set(REFERENCE_ALPHABET)


@pytest.mark.parametrize(
    ("person", "available", "expected"),
    [
        (Reachability(True, False, True, False), {"telegram", "sms"}, "telegram"),
        (Reachability(True, True, True, False), {"telegram", "sms"}, "sms"),
        (Reachability(False, False, True, True), {"telegram", "sms", "webchat"}, None),
        (Reachability(False, False, True, True), {"webchat", "console"}, "webchat"),
        (Reachability(False, False, False, False), {"telegram", "sms"}, None),
        (Reachability(True, False, True, False), {"sms", "console"}, "sms"),
        (Reachability(False, False, True, False), {"console"}, "console"),
    ],
)
def test_routing(person: Reachability, available: set[str], expected: str | None) -> None:
    """Telegram when linked and not blocked; SMS unless opted out; local channels only in a
    demo without either."""
    assert pick_channel(person, available) == expected
