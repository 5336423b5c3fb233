"""Escalation ladders as data: the steps of a school's plan, and the counters that move a
student up and down them.

A ladder is a TOML file in `policy/presets/` (one per plan in the seeds). Each step has a
condition on counters (`"unexcused_occasions >= 3 or absence_percent > 10"`), the tasks it
gives staff (who, what, when, whether it recurs or comes with every occasion) and the
messages it sends guardians. Its `[counting]` table says how the plan's words are counted:
the period counters belong to (term or school year), the base a share needs, how long a
step holds once its cause is gone, and which duties of skipped rungs carry over.

The counters are computed here from a student's roll-call records over the period:
- an *occasion* (frånvarotillfälle, fraværstilfelle) is one absence episode: consecutive
  school days absent (weekends, days off and breaks between them do not split it), or,
  within a day, lessons missed in a row; every `*_occasions` counter counts episodes;
- a *share* is the absent part of the period's school days so far, but of at least
  `share_min_days` school days, so that one absence in a term's first week is 5 %, not 50 %.
Pure rules: no I/O beyond reading the ladder file.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property, lru_cache
from pathlib import Path

from policy.calendar import DateRange, SchoolCalendar

PRESET_DIR = Path(__file__).parent / "presets"
COUNTERS = (
    "unexcused_occasions", "absence_occasions", "absence_percent", "unexcused_percent",
    "lesson_absences", "late_this_month", "continuous_days", "continuous_reported_days",
    "concern", "weeks_in_step", "days_in_step", "improved", "evaluated",
    "window_absence_percent",
)
#: Counters of a running absence: a step on them lasts the episode, and comes again with
#: the next one.
CONTINUOUS = frozenset({"continuous_days", "continuous_reported_days"})
#: Counters of shares: a step on them is left only after the share has stayed below for
#: the ladder's `leave_after_days`.
SHARES = frozenset({"absence_percent", "unexcused_percent", "window_absence_percent"})
#: Counters of time on a step and what came of it: they decide entering the next step, and
#: are not asked again while it holds.
WAITING = frozenset({"weeks_in_step", "days_in_step", "improved", "evaluated"})
#: What a waiting condition is read with once its step is entered.
_HOLDING = {"weeks_in_step": float("inf"), "days_in_step": float("inf"), "improved": 0.0,
            "evaluated": 1.0}
ROLES = ("mentor", "principal", "nurse", "counsellor", "coordinator", "health_team",
         "resource_team")
#: The occasions a task may come with, one task each (`each = "unexcused"`).
OCCASIONS = ("unexcused", "absence", "lesson")
PERIODS = ("term", "school_year")
#: How a plan counts granted leave (absence state "leave"): see `Counting.leave`.
LEAVE_COUNTING = ("absence", "none")
#: The states of absence a ladder counts as absence (granted leave where the plan says).
COUNTED = ("reported", "unexcused")
#: Lessons missed with no more than this many minutes between them are one occasion.
IN_A_ROW_MINUTES = 30
#: A day with at least this share of it absent counts as a whole day for occasions.
FULL_DAY_SHARE = 0.75
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
    #: One task for every occasion of this kind while the step holds ("vid varje
    #: tillfälle"), instead of one when the step is entered.
    each: str | None = None
    #: The same-day call the roll call's notice already gives the mentor: not made twice.
    roll_call_call: bool = False
    #: Done, this task is the step's evaluation: the next step may follow (`evaluated`).
    evaluation: bool = False

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

    @cached_property
    def counters(self) -> frozenset[str]:
        """The counters the step's condition reads."""
        return frozenset(name for group in self.when.groups for name, _, _ in group)

    @property
    def waits(self) -> bool:
        """Whether the step follows the one below it after time on it without improvement."""
        return bool(self.counters & WAITING)

    @property
    def per_episode(self) -> bool:
        """A step of a running absence: entered once per episode (its tasks and letters
        come again with the next episode), held while the episode lasts."""
        return bool(self.counters & CONTINUOUS)

    @property
    def by_share(self) -> bool:
        """A step on a share: held until the share has stayed below for a while."""
        return bool(self.counters & SHARES)

    def near_share(self, counters: dict[str, float]) -> bool:
        """Whether a share the step reads is at half its threshold or more (a share that
        hovers near a threshold holds the step; one far below it does not)."""
        return any(name in SHARES and counters.get(name, 0.0) >= number / 2
                   for group in self.when.groups for name, _op, number in group)

    def holds(self, counters: dict[str, float]) -> bool:
        """Whether a student on this step still meets it (time on it is no longer asked)."""
        return self.when.holds({**counters, **_HOLDING})


@dataclass(frozen=True)
class Counting:
    """How a plan's words are counted (a ladder's `[counting]` table)."""

    #: What counters, positions and a step's tasks belong to: "term" or "school_year".
    period: str = "term"
    #: A share is taken over the period's school days so far, but at least this many.
    share_min_days: int = 20
    #: The rolling window of `window_absence_percent`, in school days.
    window_days: int = 60
    #: A share step is left when its condition has failed this many school days in a row.
    leave_after_days: int = 10
    #: A step of a running absence is left when a school day has passed without it.
    episode_gap_days: int = 1
    #: "Improved": the absence rate since the step was entered is at most this part of the
    #: rate before it (0.75: a quarter lower).
    improved_ratio: float = 0.75
    #: Kinds of one-off tasks of rungs passed on the way up that are still made.
    carry_over: tuple[str, ...] = ()
    #: How granted leave counts: "absence" (absence that is never unexcused: in the shares,
    #: occasions and running absence, not in what a guardian reported) or "none" (not at
    #: all). Each preset says which, quoting its plan.
    leave: str = "absence"


@dataclass(frozen=True)
class Ladder:
    """A school plan's escalation ladder."""

    name: str
    title: str
    language: str
    steps: tuple[Step, ...] = field(default_factory=tuple)
    counting: Counting = field(default_factory=Counting)

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
        if on is not None and on.holds(counters):
            return best if best is not None and best.level > on.level else on
        return best

    def passed(self, on: Step | None, new: Step,
               counters: dict[str, float] | None = None) -> list[Step]:
        """The rungs strictly between `on` (or the bottom) and `new`, lowest first (with
        `counters`: only those whose condition holds)."""
        low = on.level if on is not None else -1
        return sorted((step for step in self.steps if low < step.level < new.level
                       and (counters is None or step.holds(counters))),
                      key=lambda step: step.level)

    def carried(self, on: Step | None, new: Step,
                counters: dict[str, float] | None = None) -> list[tuple[Step, int]]:
        """The tasks of rungs passed on the way from `on` up to `new` that still apply: the
        rung's condition holds (with `counters`), the task is of the ladder's `carry_over`
        kinds, one-off (not recurring, not per occasion, not after a meeting), and `new`
        itself gives no task of that kind. As (step, rule index), lowest rung first."""
        own = {rule.kind for rule in new.tasks}
        found, kinds = [], set()
        for step in self.passed(on, new, counters):
            for index, rule in enumerate(step.tasks):
                if (rule.kind in self.counting.carry_over and rule.kind not in own
                        and not (rule.every_weeks or rule.after or rule.each)
                        and (rule.kind, rule.who) not in kinds):
                    kinds.add((rule.kind, rule.who))
                    found.append((step, index))
        return found

    def settle(self, on: Step | None, counters: dict[str, float], *, below_since: date | None,
               today: date, calendar: SchoolCalendar) -> tuple[Step | None, date | None]:
        """The step after these counters, holding `on` while its cause lasts: returns the
        step and since when the counters have been below it (None when they are not).

        A step of a running absence holds until a school day has passed without it; a step
        on a share, while the share is still at half its threshold or more, until it has
        stayed below for `leave_after_days` school days; any other step (occasions only go
        down by a correction, a concern closed by a person) is left at once.
        """
        new = self.advance(on, counters)
        if on is None or (new is not None and new.level >= on.level):
            return new, None
        if on.per_episode:
            hold = self.counting.episode_gap_days
        elif on.by_share and on.near_share(counters):
            hold = self.counting.leave_after_days
        else:
            return new, None
        since = below_since or today
        if since < today and len(calendar.school_days(since, today - timedelta(days=1))) >= hold:
            return new, None
        return on, since


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
            each = task.get("each")
            if each is not None and each not in OCCASIONS:
                raise LadderError(f"{source}: step {step_id}: each {each!r} is not one of "
                                  f"{OCCASIONS}")
            tasks.append(TaskRule(who, str(task.get("kind", "other")), due,
                                  str(task.get("what", "")), int(every) if every else None,
                                  str(after) if after else None, str(each) if each else None,
                                  bool(task.get("roll_call_call", False)),
                                  bool(task.get("evaluation", False))))
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
                  str(data.get("language", "")), tuple(steps),
                  parse_counting(data.get("counting", {}), source=source))


def parse_counting(raw: object, *, source: str = "ladder") -> Counting:
    """A ladder's `[counting]` table; unknown keys and impossible values are errors."""
    if not isinstance(raw, dict):
        raise LadderError(f"{source}: counting must be a table")
    defaults = Counting()
    unknown = set(raw) - set(defaults.__dict__)
    if unknown:
        raise LadderError(f"{source}: counting: unknown keys {', '.join(sorted(unknown))}")
    period = str(raw.get("period", defaults.period))
    if period not in PERIODS:
        raise LadderError(f"{source}: counting: period {period!r} is not one of {PERIODS}")
    numbers: dict[str, int] = {}
    for name in ("share_min_days", "window_days", "leave_after_days", "episode_gap_days"):
        value = raw.get(name, getattr(defaults, name))
        if not isinstance(value, int) or value < (1 if name == "window_days" else 0):
            raise LadderError(f"{source}: counting: {name} must be a whole number of school "
                              "days")
        numbers[name] = value
    ratio = raw.get("improved_ratio", defaults.improved_ratio)
    if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        raise LadderError(f"{source}: counting: improved_ratio must be between 0 and 1")
    carry = raw.get("carry_over", [])
    if not isinstance(carry, list):
        raise LadderError(f"{source}: counting: carry_over must be a list of task kinds")
    leave = str(raw.get("leave", defaults.leave))
    if leave not in LEAVE_COUNTING:
        raise LadderError(f"{source}: counting: leave {leave!r} is not one of {LEAVE_COUNTING}")
    return Counting(period, numbers["share_min_days"], numbers["window_days"],
                    numbers["leave_after_days"], numbers["episode_gap_days"], float(ratio),
                    tuple(str(kind) for kind in carry), leave)


@dataclass(frozen=True)
class Record:
    """One roll-call record of a student: absent (a whole day or a lesson) or late."""

    day: date
    kind: str  # "absent" | "late"
    state: str  # "reported" | "unexcused" | "open" | "withdrawn" | "leave" (granted)
    lesson_start: time | None = None
    lesson_end: time | None = None

    @property
    def whole_day(self) -> bool:
        """Absent the whole school day (no lesson times)."""
        return self.lesson_start is None


def term_of(calendar: SchoolCalendar, today: date) -> DateRange:
    """The term `today` falls in (between terms, the one before); without terms, the term
    of the country's default school year (`SchoolCalendar.default_term`)."""
    for term in calendar.terms:
        if term.start <= today <= term.end:
            return term
    earlier = [term for term in calendar.terms if term.start <= today]
    if earlier:
        return max(earlier, key=lambda term: term.start)
    return calendar.default_term(today)


def period_of(calendar: SchoolCalendar, today: date, period: str = "term") -> DateRange:
    """What counters belong to as of `today`: the term, or the school year (from August)."""
    if period == "school_year":
        year = today.year if today.month >= 8 else today.year - 1
        return DateRange(date(year, 8, 1), date(year + 1, 7, 31), f"{year}/{year + 1}")
    return term_of(calendar, today)


@dataclass(frozen=True, eq=False)
class Frame:
    """What one day's counting shares between the students of a school: the period, its
    school days so far, and the rolling window's school days."""

    today: date
    period: DateRange
    days: tuple[date, ...]
    window: tuple[date, ...]
    counting: Counting

    @property
    def first(self) -> date:
        """The earliest day whose records the counters read."""
        return min(self.period.start, self.window[0] if self.window else self.period.start)

    @cached_property
    def index(self) -> dict[date, int]:
        """Each of the period's school days so far, with its place."""
        return {day: i for i, day in enumerate(self.days)}

    @cached_property
    def window_set(self) -> frozenset[date]:
        """The rolling window's school days."""
        return frozenset(self.window)


def frame_of(calendar: SchoolCalendar, today: date, counting: Counting | None = None,
             school_days: Sequence[date] | None = None) -> Frame:
    """The frame of counting as of `today` (see `Frame`)."""
    return _frame(calendar, today, counting or Counting(),
                  tuple(school_days) if school_days is not None else None)


@lru_cache(maxsize=64)
def _frame(calendar: SchoolCalendar, today: date, counting: Counting,
           school_days: tuple[date, ...] | None) -> Frame:
    """`frame_of`, once per calendar and day (every student of a school shares it)."""
    period = period_of(calendar, today, counting.period)
    days = school_days if school_days is not None else tuple(
        calendar.school_days(period.start, today))
    back = today - timedelta(days=counting.window_days * 7 // 5 + 30)
    window = tuple(calendar.school_days(back, today)[-counting.window_days:])
    return Frame(today, period, days, window, counting)


def counters(
    records: Iterable[Record], calendar: SchoolCalendar, today: date, *,
    concern: bool = False, weeks_in_step: float = 0, school_days: Sequence[date] | None = None,
    counting: Counting | None = None, frame: Frame | None = None, entered: date | None = None,
    evaluated: bool = False,
) -> dict[str, float]:
    """The ladder's counters for one student as of `today`, over the period.

    Without `counting` a share is taken over the school days so far, as they are (what staff
    read); a ladder passes its own. `frame` (or `school_days`, the term's school days up to
    today) may be passed in when many students share a calendar. `entered`: the day the
    student entered their step (days on it, and whether absence has improved since);
    `evaluated`: the step's evaluation has been held.
    """
    plain = counting is None
    frame = frame or frame_of(calendar, today, counting, school_days)
    counting = frame.counting
    period, days = frame.period, frame.days
    index = frame.index
    dropped = ("withdrawn", "leave") if counting.leave == "none" else ("withdrawn",)
    rows = [r for r in records if r.state not in dropped and r.day <= today]
    in_period = [r for r in rows if r.day in index]
    absent = [r for r in in_period if r.kind == "absent"]
    unexcused = [r for r in absent if r.state == "unexcused"]
    states = (*COUNTED, "leave")
    counted = [r for r in absent if r.state in states]
    base = max(len(days), 1 if plain else counting.share_min_days, 1)

    def share(chosen: list[Record], over: int) -> float:
        return 100.0 * sum(day_share(r.lesson_start, r.lesson_end) for r in chosen) / over

    window = frame.window_set
    in_window = [r for r in rows if r.kind == "absent" and r.day in window
                 and r.state in states]
    whole_days = _full_days(absent)
    found = {
        "unexcused_occasions": float(len(episodes(unexcused, days, index))),
        "absence_occasions": float(len(episodes(counted, days, index))),
        "absence_percent": round(share(counted, base), 2),
        "unexcused_percent": round(share(unexcused, base), 2),
        "lesson_absences": float(sum(1 for r in counted if not r.whole_day)),
        "late_this_month": float(sum(1 for r in in_period if r.kind == "late"
                                     and (r.day.year, r.day.month) == (today.year, today.month))),
        "continuous_days": float(_run(days, whole_days, ("reported", "unexcused", "open"))),
        "continuous_reported_days": float(_run(days, whole_days, ("reported",))),
        "concern": 1.0 if concern else 0.0,
        "weeks_in_step": float(weeks_in_step),
        "window_absence_percent": round(share(in_window, max(
            len(frame.window), 1 if plain else min(counting.share_min_days,
                                                   counting.window_days), 1)), 2),
        "days_in_step": 0.0, "improved": 0.0, "evaluated": 1.0 if evaluated else 0.0,
    }
    if entered is not None and period.start <= entered:
        before = [day for day in days if day < entered]
        since = [day for day in days if day >= entered]
        found["days_in_step"] = float(sum(1 for day in days if day > entered))
        # The rate before needs a base too: a few days before the step are no yardstick.
        rate_before = share([r for r in counted if r.day < entered],
                            max(len(before), counting.share_min_days, 1))
        rate_since = share([r for r in counted if r.day >= entered], max(len(since), 1))
        found["improved"] = 1.0 if rate_since <= rate_before * counting.improved_ratio else 0.0
    return found


@dataclass(frozen=True)
class Episode:
    """One absence occasion: from its first to its last school day."""

    start: date
    end: date
    whole_days: bool


def episodes(records: Iterable[Record], days: Sequence[date],
             index: dict[date, int] | None = None) -> list[Episode]:
    """The occasions among `records` (absences, already chosen by state), oldest first.

    Whole days absent on consecutive school days are one occasion, whatever weekends, days
    off and breaks lie between (a day absent for three quarters of its time or more counts
    as whole); on other days each run of lessons missed in a row (no more than
    `IN_A_ROW_MINUTES` between them) is an occasion. Days that are not school days do not
    count. (`index`: each of `days` with its place, when the caller has it.)
    """
    index = index if index is not None else {day: i for i, day in enumerate(days)}
    by_day: dict[date, list[Record]] = defaultdict(list)
    for record in records:
        if record.kind == "absent" and record.day in index:
            by_day[record.day].append(record)
    found: list[Episode] = []
    previous_full: int | None = None
    for day in sorted(by_day):
        rows = by_day[day]
        full = any(r.whole_day for r in rows) or sum(
            day_share(r.lesson_start, r.lesson_end) for r in rows) >= FULL_DAY_SHARE
        if full:
            if previous_full is not None and previous_full == index[day] - 1 and found:
                found[-1] = Episode(found[-1].start, day, True)
            else:
                found.append(Episode(day, day, True))
            previous_full = index[day]
            continue
        previous_full = None
        found.extend(Episode(day, day, False) for _ in range(_lesson_runs(rows)))
    return found


def days_missed(records: Iterable[Record], days: Iterable[date]) -> int:
    """How many of the school `days` the records show absent whole, or for three quarters of
    the day or more (any absence, reported or not; a withdrawn one is no absence)."""
    wanted = set(days)
    return len(_full_days([r for r in records if r.kind == "absent"
                           and r.state != "withdrawn" and r.day in wanted]))


def _full_days(absent: list[Record]) -> dict[date, str]:
    """The days absent whole (or three quarters or more), with the day's state: reported
    when all of it was reported, unexcused when any of it was unexcused, else open."""
    by_day: dict[date, list[Record]] = defaultdict(list)
    for record in absent:
        by_day[record.day].append(record)
    found: dict[date, str] = {}
    for day, rows in by_day.items():
        if any(r.whole_day for r in rows) or sum(
                day_share(r.lesson_start, r.lesson_end) for r in rows) >= FULL_DAY_SHARE:
            states = {r.state for r in rows}
            found[day] = ("reported" if states == {"reported"} else
                          "unexcused" if "unexcused" in states else "open")
    return found


def _lesson_runs(rows: list[Record]) -> int:
    """How many runs of lessons in a row a day's lesson absences make."""
    runs, last_end = 0, None
    for row in sorted(rows, key=lambda r: r.lesson_start or time(0, 0)):
        start = _minutes(row.lesson_start)
        end = _minutes(row.lesson_end) if row.lesson_end else start + 60
        if last_end is None or start - last_end > IN_A_ROW_MINUTES:
            runs += 1
        last_end = max(end, last_end or end)
    return runs


def _minutes(moment: time | None) -> int:
    return moment.hour * 60 + moment.minute if moment else 0


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
