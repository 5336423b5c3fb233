"""The rules for a guardian's absence report: which days it may cover, and which count."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Any

from policy.calendar import SchoolCalendar
from policy.presets import PolicyPreset

#: Letters and digits that cannot be misread for one another on a phone screen.
REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"


@dataclass(frozen=True)
class ReportDays:
    """The days a report asks for, checked against the school calendar and the deadline.

    `problem` is None when the report may be saved; otherwise one of
    "no_school_days", "too_far_ahead", "too_far_back".
    """

    first: date
    last: date
    part_start: time | None = None
    part_end: time | None = None
    school_days: tuple[date, ...] = ()
    late_days: tuple[date, ...] = ()
    skipped_days: tuple[date, ...] = field(default_factory=tuple)
    problem: str | None = None

    @property
    def on_time(self) -> bool:
        """Whether every school day asked for is reported within the deadline."""
        return not self.late_days

    @property
    def on_time_days(self) -> tuple[date, ...]:
        """The school days this report excuses."""
        return tuple(day for day in self.school_days if day not in self.late_days)


def check_report_days(
    calendar: SchoolCalendar, policy: PolicyPreset, *, first: date, last: date, today: date,
    part_start: time | None = None, part_end: time | None = None,
) -> ReportDays:
    """Check `first`..`last` for a report made `today`.

    Days that are not school days are left out (and listed in `skipped_days` so
    the guardian is told); school days past the report deadline are kept but
    listed as late (the three-school-day rule).
    """
    base = ReportDays(first, last, part_start, part_end)
    if last > today + timedelta(days=policy.report_horizon_days):
        return _with(base, problem="too_far_ahead")
    if first < today - timedelta(days=policy.report_lookback_days):
        return _with(base, problem="too_far_back")
    school_days = tuple(calendar.school_days(first, last))
    if not school_days:
        return _with(base, problem="no_school_days")
    skipped = tuple(
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if first + timedelta(days=n) not in school_days
    )
    late = tuple(day for day in school_days if day < today and not _on_time(calendar, policy,
                                                                             day, today))
    return _with(base, school_days=school_days, late_days=late, skipped_days=skipped)


def _on_time(calendar: SchoolCalendar, policy: PolicyPreset, day: date, today: date) -> bool:
    try:
        deadline = calendar.add_school_days(day, policy.report_deadline_school_days)
    except ValueError:
        # Fewer school days follow in the calendar (its last term ends): the window
        # stays open, as in `SchoolCalendar.earliest_reportable_day`.
        return True
    return today <= deadline


def _with(base: ReportDays, **changes: Any) -> ReportDays:
    return replace(base, **changes)


def new_reference() -> str:
    """A short report reference a guardian can read out on the phone ("R-7K3QF")."""
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))


def part_overlaps(
    slot_start: time | None, slot_end: time | None, part_start: time | None,
    part_end: time | None,
) -> bool:
    """Whether a roll-call slot (a lesson, or the whole day when None) falls in a reported part.

    A whole-day report covers every slot; a part-day report covers the lessons
    that start within it, and not a whole-day absence.
    """
    if part_start is None or part_end is None:
        return True
    if slot_start is None:
        return False
    return part_start <= slot_start < part_end


def first_day_meant(calendar: SchoolCalendar, today: date, moment: time, day_ends: time) -> date:
    """The day a report that names no day is for: today on a school day before its end
    (the school's last lesson), else the next school day ("sjuk" at 07:30 is today, at
    18:00 or on a Saturday the next school day).
    """
    if calendar.is_school_day(today) and moment < day_ends:
        return today
    try:
        return calendar.add_school_days(today, 1)
    except ValueError:  # no school days ahead in the calendar: today, checked as any day
        return today


def undo_until(calendar: SchoolCalendar, reported: date, moment: time, day_ends: time) -> date:
    """The school day until whose end (`day_ends`) a report made at `moment` on `reported`
    can be undone by one word: that day, or the next school day once its school day is
    over."""
    return first_day_meant(calendar, reported, moment, day_ends)
