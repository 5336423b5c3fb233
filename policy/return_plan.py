"""Return plans (Lyngen's "Tilbakeføring"): when a student's morning message is due, which
encouragement it carries, and when silence means the trusted adult must hear of it.
Pure rules: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from policy.calendar import SchoolCalendar

#: The check-in's answers, in the order they are offered (SMS: 1–4).
COMING, LATER, HELP, NOT_TODAY = "coming", "later", "help", "not_today"
ANSWERS = (COMING, LATER, HELP, NOT_TODAY)
#: Answers that reach the trusted adult at once.
ALARMING = frozenset({HELP, NOT_TODAY})
#: The plan is evaluated after two weeks of school by default (seed 004).
EVALUATE_AFTER_SCHOOL_DAYS = 10
#: Silence is noticed this long before the first lesson.
ANSWER_LEAD = timedelta(minutes=30)
#: The latest answer deadline a plan can have.
LATEST_DEADLINE = time(12, 0)
#: The longest text a mentor can add to a plan's encouragements, or set as its goal.
MAX_OWN_TEXT = 200
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PlanDays:
    """When a plan runs: its first day, last day (if set), morning time and first lesson."""

    starts_on: date
    ends_on: date | None
    morning_time: time
    first_lesson: time
    weekdays: str = "12345"
    #: The plan's own answer deadline, if one was set.
    deadline: time | None = None

    @property
    def answer_by(self) -> time:
        """When no answer to the check-in becomes the adult's business: the plan's own
        deadline, or 30 minutes before the first lesson (never before the message)."""
        if self.deadline is not None:
            return max(self.deadline, self.morning_time)
        start = datetime.combine(date(2000, 1, 3), self.first_lesson) - ANSWER_LEAD
        return max(start.time(), self.morning_time)

    def runs_on(self, day: date, calendar: SchoolCalendar) -> bool:
        """Whether the plan sends its morning message on `day`."""
        return (calendar.is_school_day(day) and day >= self.starts_on
                and str(day.isoweekday()) in self.weekdays
                and (self.ends_on is None or day <= self.ends_on))

    def morning_due(self, local: datetime, calendar: SchoolCalendar) -> bool:
        """Whether the morning message is due now: a plan day, from the morning time until
        the first lesson (a message after school has begun helps nobody)."""
        return (self.runs_on(local.date(), calendar)
                and self.morning_time <= local.time().replace(tzinfo=None) < self.first_lesson)

    def silent_since(self, local: datetime) -> bool:
        """Whether it is past the time an answer was expected."""
        return local.time().replace(tzinfo=None) >= self.answer_by


def typed_answer(text: str, labels: Mapping[str, str]) -> str | None:
    """The check-in's answer that typed words name: a button's label written out (in any
    case, without its punctuation) or its number, 1–4 as a text message offers them."""
    said = text.strip().strip(".!").casefold()
    if said in {str(number) for number in range(1, len(ANSWERS) + 1)}:
        return ANSWERS[int(said) - 1]
    return next((answer for answer, label in labels.items()
                 if label.strip(".!").casefold() == said), None)


def evaluation_day(start: date, calendar: SchoolCalendar) -> date:
    """The school day a plan starting on `start` is evaluated: after two weeks of school."""
    first = start if calendar.is_school_day(start) else calendar.add_school_days(start, 1)
    return calendar.add_school_days(first, EVALUATE_AFTER_SCHOOL_DAYS - 1)


def encouragement(day_number: int, count: int, yesterday: int | None = None,
                  unsent: Sequence[int] = ()) -> int:
    """Which of `count` encouragements goes out on the plan's `day_number`-th school day:
    one the mentor wrote that has not gone out yet (`unsent`, oldest first) comes first;
    otherwise they rotate, and never the same two days in a row."""
    if unsent:
        return unsent[0]
    if count <= 1:
        return 0
    index = day_number % count
    return (index + 1) % count if index == yesterday else index


def valid_deadline(answer_by: time, morning_time: time) -> bool:
    """Whether `answer_by` can be a plan's answer deadline: after the morning message, and
    before noon (an answer expected later is no morning check-in)."""
    return morning_time < answer_by <= LATEST_DEADLINE


def weekdays_from(text: str) -> str | None:
    """ISO weekday numbers ("135") from "1,3,5" or "mon,wed,fri"; None if unreadable."""
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        if part.isdecimal() and 1 <= int(part) <= 7:
            days.add(part)
        elif part[:3] in _WEEKDAYS:
            days.add(str(_WEEKDAYS.index(part[:3]) + 1))
        else:
            return None
    return "".join(sorted(days)) or None


def clock_time(word: str) -> time | None:
    """A time of day written "7:30", "07:30" or "07.30"; None if it is not one."""
    hours, sep, minutes = word.strip().replace(".", ":").partition(":")
    if not sep or not hours.isdecimal() or not minutes.isdecimal() or len(minutes) != 2:
        return None
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        return None
