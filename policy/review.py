"""The monthly review for a school's leadership (seed 004: "the school's leadership reviews
all absence every month"; seed 003: the resource team "looks at patterns about once a
month"): absence by class and by week, reported against unexcused, students per step of the
plan, tasks done on time or late, return plans. Pure arithmetic over rows: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from policy.ladder import day_share


@dataclass(frozen=True)
class AbsenceRow:
    """One absence in the month: whose class, which day, reported or not, how much of it."""

    class_name: str
    day: date
    reported: bool
    lesson_start: time | None
    lesson_end: time | None
    #: Granted leave (neither reported nor unexcused: shown on its own).
    leave: bool = False

    @property
    def share(self) -> float:
        """The share of a school day it took (a whole day 1; a lesson its minutes)."""
        return day_share(self.lesson_start, self.lesson_end)


@dataclass(frozen=True)
class Share:
    """Absence of a group over its scheduled student-days, in percent."""

    reported: float
    unexcused: float
    #: Granted leave, shown apart (not in `total`).
    leave: float = 0.0

    @property
    def total(self) -> float:
        """Reported and unexcused together (granted leave is apart)."""
        return round(self.reported + self.unexcused, 1)


@dataclass
class Review:
    """What the month's review shows."""

    first: date
    last: date
    by_class: dict[str, Share] = field(default_factory=dict)
    by_week: dict[str, Share] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    tasks_on_time: int = 0
    tasks_late: int = 0
    tasks_open_overdue: int = 0
    plans_started: int = 0
    plans_answered: float = 0.0
    #: The school has imported no terms: its country's default school year was used.
    default_year: bool = False


def absence_shares(rows: Iterable[AbsenceRow], class_sizes: dict[str, int],
                   school_days: Sequence[date]) -> tuple[dict[str, Share], dict[str, Share]]:
    """Per class and per ISO week ("2026-W48"), reported and unexcused absence and granted
    leave in percent of the scheduled student-days."""
    days = set(school_days)
    by_class: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    by_week: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in rows:
        if row.day not in days:
            continue
        slot = 2 if row.leave else 0 if row.reported else 1
        by_class[row.class_name][slot] += row.share
        by_week[_week(row.day)][slot] += row.share
    students = sum(class_sizes.values())
    week_days: dict[str, int] = defaultdict(int)
    for day in days:
        week_days[_week(day)] += 1

    def share(amounts: list[float], student_days: int) -> Share:
        if not student_days:
            return Share(0.0, 0.0)
        return Share(round(100 * amounts[0] / student_days, 1),
                     round(100 * amounts[1] / student_days, 1),
                     round(100 * amounts[2] / student_days, 1))

    classes = {name: share(by_class[name], size * len(days))
               for name, size in sorted(class_sizes.items())}
    weeks = {week: share(by_week[week], students * count)
             for week, count in sorted(week_days.items())}
    return classes, weeks


def task_timeliness(tasks: Iterable[tuple[datetime, datetime | None]],
                    now: datetime) -> tuple[int, int, int]:
    """(done on time, done late, open past due) of (due, done) pairs; on time is done by the
    end of the day it was due (UTC days are close enough for a month's picture)."""
    on_time = late = overdue = 0
    for due, done in tasks:
        if done is None:
            overdue += due < now
        elif done.date() <= due.date():
            on_time += 1
        else:
            late += 1
    return on_time, late, overdue


def _week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"
