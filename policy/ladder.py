"""Escalation ladders as data: the steps of a school's plan, and the counters that move a
student up and down them.

A ladder is a TOML file in `policy/presets/` (one per plan in the seeds). Each step has a
condition on counters (`"unexcused_occasions >= 3 or absence_percent > 10"`), the tasks it
gives staff (who, what, when, whether it recurs) and the messages it sends guardians. The
counters are computed here from a student's roll-call records over the school's term.
Pure rules: no I/O beyond reading the ladder file.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path

from policy.calendar import DateRange, SchoolCalendar

PRESET_DIR = Path(__file__).parent / "presets"
COUNTERS = (
    "unexcused_occasions", "absence_occasions", "absence_percent", "unexcused_percent",
    "lesson_absences", "late_this_month", "continuous_days", "continuous_reported_days",
    "concern", "weeks_in_step",
)
ROLES = ("mentor", "principal", "nurse", "counsellor", "coordinator", "health_team")
#: Tasks that are meetings: held, or booked for a date, rather than simply done.
MEETING_KINDS = frozenset({"meeting", "follow_up_meeting", "health_team_meeting",
                           "network_meeting"})
#: What a step may send guardians; the same-day notice itself comes from the roll call.
LETTERS = ("unexcused_notice", "meeting_invitation", "certificate_required",
           "social_services_warning")
#: A task created when a meeting of its step has been held, not when the step is entered.
AFTER_MEETING = "meeting_held"
#: A school day's teaching time, for a lesson's share of a day.
SCHOOL_DAY_MINUTES = 360
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq,
}
_COMPARISON = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*(\d+(?:\.\d+)?)\s*$")
_DUE = re.compile(r"^(same_day|school_days:\d+|weeks:\d+)$")


class LadderError(ValueError):
    """A ladder file that cannot be used, with what is wrong in it."""


@dataclass(frozen=True)
class Condition:
    """`a >= 1 and b > 2 or c == 0`: any of the groups, each all of its comparisons."""

    groups: tuple[tuple[tuple[str, str, float], ...], ...]

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Read a condition; unknown counters and malformed comparisons are errors."""
        groups = []
        for part in re.split(r"\s+or\s+", text.strip()):
            comparisons = []
            for piece in re.split(r"\s+and\s+", part):
                match = _COMPARISON.match(piece)
                if match is None:
                    raise LadderError(f"cannot read the condition {piece!r}")
                counter, op, number = match.groups()
                if counter not in COUNTERS:
                    raise LadderError(
                        f"unknown counter {counter!r} (known: {', '.join(COUNTERS)})")
                comparisons.append((counter, op, float(number)))
            groups.append(tuple(comparisons))
        return cls(tuple(groups))

    def holds(self, counters: dict[str, float]) -> bool:
        """Whether the counters meet the condition."""
        return any(
            all(_OPERATORS[op](counters.get(name, 0.0), number) for name, op, number in group)
            for group in self.groups
        )


@dataclass(frozen=True)
class TaskRule:
    """A task a step gives someone: who, what, when it is due, whether it recurs."""

    who: str
    kind: str
    due: str
    what: str
    every_weeks: int | None = None
    after: str | None = None  # AFTER_MEETING: due counted from the day a meeting was held

    @property
    def is_meeting(self) -> bool:
        """Whether the task is a meeting (held or booked rather than done)."""
        return self.kind in MEETING_KINDS

    def due_on(self, entered: date, calendar: SchoolCalendar) -> date:
        """The school day the task is due when the step is entered on `entered`."""
        kind, _, amount = self.due.partition(":")
        if kind == "same_day":
            return entered if calendar.is_school_day(entered) else calendar.add_school_days(
                entered, 1)
        if kind == "school_days":
            return calendar.add_school_days(entered, int(amount))
        day = entered + timedelta(weeks=int(amount))
        return day if calendar.is_school_day(day) else calendar.add_school_days(day, 1)


@dataclass(frozen=True)
class Step:
    """One rung: its condition, the plan's own words, its tasks and guardian messages."""

    id: str
    level: int
    when: Condition
    when_text: str
    quote: str
    tasks: tuple[TaskRule, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def waits(self) -> bool:
        """Whether the step follows the one below it after weeks without improvement."""
        return any(name == "weeks_in_step" for group in self.when.groups for name, _, _ in group)


@dataclass(frozen=True)
class Ladder:
    """A school plan's escalation ladder."""

    name: str
    title: str
    language: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def held(self, counters: dict[str, float]) -> list[Step]:
        """The steps whose conditions the counters meet, lowest first."""
        return [step for step in self.steps if step.when.holds(counters)]

    def current(self, counters: dict[str, float]) -> Step | None:
        """The highest step held, if any (ignoring how steps follow each other)."""
        held = self.held(counters)
        return max(held, key=lambda step: step.level) if held else None

    def advance(self, on: Step | None, counters: dict[str, float]) -> Step | None:
        """The step a student is on after these counters, coming from step `on`.

        Up to the highest step the counters meet; a step that waits for weeks without
        improvement (`weeks_in_step`) is reached only from the step just below it. Down
        (or off the ladder) when the counters no longer meet `on` itself.
        """
        ordered = sorted(self.steps, key=lambda step: step.level)
        following = ordered[ordered.index(on) + 1] if on in ordered[:-1] else None
        reachable = [step for step in self.held(counters)
                     if not step.waits or step is following]
        best = max(reachable, key=lambda step: step.level, default=None)
        if on is not None and on.when.holds({**counters, "weeks_in_step": float("inf")}):
            return best if best is not None and best.level > on.level else on
        return best


def load_ladder(name_or_path: str) -> Ladder:
    """The ladder of a preset (`ljusnarsberg`) or of a TOML file; errors name what is wrong."""
    path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.exists():
        path = Path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LadderError(f"{path}: {error}") from error
    return parse_ladder(data, source=str(path))


def parse_ladder(data: dict[str, object], *, source: str = "ladder") -> Ladder:
    """A ladder from parsed TOML, checked whole."""
    steps: list[Step] = []
    seen: set[str] = set()
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list):
        raise LadderError(f"{source}: steps must be a list of [[steps]]")
    for raw in raw_steps:
        step_id = str(raw.get("id", ""))
        if not step_id or step_id in seen:
            raise LadderError(f"{source}: every step needs a unique id ({step_id!r})")
        seen.add(step_id)
        tasks = []
        for task in raw.get("tasks", []):
            who, due = str(task.get("who", "")), str(task.get("due", ""))
            if who not in ROLES:
                raise LadderError(f"{source}: step {step_id}: who {who!r} is not one of {ROLES}")
            if not _DUE.match(due):
                raise LadderError(f"{source}: step {step_id}: due {due!r} is not same_day, "
                                  "school_days:N or weeks:N")
            every, after = task.get("every_weeks"), task.get("after")
            if after not in (None, AFTER_MEETING):
                raise LadderError(f"{source}: step {step_id}: after {after!r} is not "
                                  f"{AFTER_MEETING!r}")
            tasks.append(TaskRule(who, str(task.get("kind", "other")), due,
                                  str(task.get("what", "")), int(every) if every else None,
                                  str(after) if after else None))
        when_text = str(raw.get("when", ""))
        try:
            when = Condition.parse(when_text)
        except LadderError as error:
            raise LadderError(f"{source}: step {step_id}: {error}") from error
        letters = tuple(str(message.get("kind", "")) for message in raw.get("messages", []))
        unknown = [letter for letter in letters if letter not in LETTERS]
        if unknown:
            raise LadderError(f"{source}: step {step_id}: message {unknown[0]!r} is not one "
                              f"of {LETTERS}")
        steps.append(Step(step_id, int(raw.get("level", len(steps) + 1)), when, when_text,
                          str(raw.get("quote", "")), tuple(tasks), letters))
    return Ladder(str(data.get("name", "")), str(data.get("title", "")),
                  str(data.get("language", "")), tuple(steps))


@dataclass(frozen=True)
class Record:
    """One roll-call record of a student: absent (a whole day or a lesson) or late."""

    day: date
    kind: str  # "absent" | "late"
    state: str  # "reported" | "unexcused" | "open" | "withdrawn"
    lesson_start: time | None = None
    lesson_end: time | None = None

    @property
    def whole_day(self) -> bool:
        """Absent the whole school day (no lesson times)."""
        return self.lesson_start is None


def term_of(calendar: SchoolCalendar, today: date) -> DateRange:
    """The term `today` falls in; without terms, the half year (spring or autumn)."""
    for term in calendar.terms:
        if term.start <= today <= term.end:
            return term
    if today.month >= 8:
        return DateRange(date(today.year, 8, 1), date(today.year, 12, 31), "autumn")
    return DateRange(date(today.year, 1, 1), date(today.year, 7, 31), "spring")


def counters(
    records: Iterable[Record], calendar: SchoolCalendar, today: date, *,
    concern: bool = False, weeks_in_step: float = 0, school_days: Sequence[date] | None = None,
) -> dict[str, float]:
    """The ladder's counters for one student as of `today`, over the current term.

    `school_days` (the term's school days up to today, oldest first) may be passed in
    when many students share a calendar; it is computed otherwise.
    """
    term = term_of(calendar, today)
    days = list(school_days) if school_days is not None else calendar.school_days(
        term.start, today)
    scheduled = len(days) or 1
    in_term = [r for r in records if term.start <= r.day <= today and r.state != "withdrawn"]
    absent = [r for r in in_term if r.kind == "absent"]
    unexcused = [r for r in absent if r.state == "unexcused"]
    counted = [r for r in absent if r.state in ("reported", "unexcused")]

    def share(rows: list[Record]) -> float:
        return 100.0 * sum(day_share(r.lesson_start, r.lesson_end) for r in rows) / scheduled

    whole_days = {r.day: r.state for r in absent if r.whole_day}
    return {
        "unexcused_occasions": float(len(unexcused)),
        "absence_occasions": float(len(counted)),
        "absence_percent": round(share(counted), 2),
        "unexcused_percent": round(share(unexcused), 2),
        "lesson_absences": float(sum(1 for r in counted if not r.whole_day)),
        "late_this_month": float(sum(1 for r in in_term if r.kind == "late"
                                     and (r.day.year, r.day.month) == (today.year, today.month))),
        "continuous_days": float(_run(days, whole_days, ("reported", "unexcused", "open"))),
        "continuous_reported_days": float(_run(days, whole_days, ("reported",))),
        "concern": 1.0 if concern else 0.0,
        "weeks_in_step": float(weeks_in_step),
    }


def day_share(lesson_start: time | None, lesson_end: time | None) -> float:
    """The share of a school day an absence took: a whole day (no lesson times) 1, a lesson
    its minutes of the day's teaching time, a lesson of unknown length one of six."""
    if lesson_start is None:
        return 1.0
    if lesson_end is None:
        return 1.0 / 6
    minutes = (lesson_end.hour * 60 + lesson_end.minute) - (
        lesson_start.hour * 60 + lesson_start.minute)
    return min(1.0, max(0, minutes) / SCHOOL_DAY_MINUTES)


def _run(days: Sequence[date], absent: dict[date, str], states: tuple[str, ...]) -> int:
    """Continuous absent school days up to the latest school day (back from the end)."""
    run = 0
    for day in reversed(days):
        if absent.get(day) in states:
            run += 1
        else:
            break
    return run
