"""The demo's clock: a newcomer trying Närvaro in the evening or at a weekend should still
see a school morning (roll call, notices, a mentor's prompt), so the demo's time starts
at the next school day's 07:50 and runs on from there."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from policy.calendar import SchoolCalendar

#: Where a demo's clock starts: before the roll-call cutoff, so the morning unfolds.
MORNING = time(7, 50)
#: A demo clock inside these hours of a school day is left alone (nothing to wait for).
SCHOOL_HOURS = (time(7, 0), time(15, 0))
#: How far ahead a school day is looked for (a summer holiday is about ten weeks).
SEARCH_DAYS = 200


def in_school_hours(local: datetime, calendar: SchoolCalendar) -> bool:
    """Whether `local` (the school's time) is in the hours of a school day."""
    first, last = SCHOOL_HOURS
    return calendar.is_school_day(local.date()) and first <= local.time() < last


def next_school_morning(local: datetime, calendar: SchoolCalendar) -> datetime | None:
    """The next school day's 07:50 from `local` (today's, if it is a school day and 07:50 is
    still to come), in `local`'s time zone; None when no school day is in sight."""
    day = local.date()
    if local.time() >= MORNING:
        day += timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        if calendar.is_school_day(day):
            return datetime.combine(day, MORNING, tzinfo=local.tzinfo)
        day += timedelta(days=1)
    return None
