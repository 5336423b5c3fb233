"""When an absence becomes unexcused and the guardians are told: cutoffs, quiet hours, the guard.

Pure rules (no I/O). Times are the school's local wall-clock times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class NoticeRules:
    """A school's settings for same-day notices (from its policy, overridable per school)."""

    #: Whether guardians get the same-day notice and the mentor the call prompt at all (on
    #: where the plan prescribes them; off, the absence still becomes unexcused at the cutoff).
    same_day_notice: bool = True

    #: When the first lesson of a student's day starts (whole-day absences count from it).
    first_lesson: time = time(8, 15)
    #: Minutes after the first lesson a whole-day absence without a report is unexcused.
    day_cutoff_minutes: int = 30
    #: Minutes after a lesson's start a lesson absence without a report is unexcused.
    lesson_cutoff_minutes: int = 20
    #: If more than this share of a class or school would be told at once, staff confirm first.
    mass_alert_share: float = 0.4
    #: Smaller groups are never held (two absent of three is not a false alarm).
    mass_alert_min_students: int = 5
    #: No notice goes out between these times (local).
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    #: A class with no roll call by this time gets its mentor a reminder.
    roll_call_by: time = time(12, 0)
    #: The school day is over (unresolved calls carry over to the next morning).
    day_ends: time = time(16, 0)
    #: "No answer – remind me" re-prompts after this many minutes.
    call_retry_minutes: int = 120
    #: School days missed this term at which the guardians are told the total, once each
    #: (`policy.term_total`); empty: never.
    term_total_days: tuple[int, ...] = ()


def cutoff(day: date, lesson_start: time | None, rules: NoticeRules) -> datetime:
    """The local time at which an absence on `day` (a lesson, or the whole day) is unexcused."""
    if lesson_start is None:
        start, minutes = rules.first_lesson, rules.day_cutoff_minutes
    else:
        start, minutes = lesson_start, rules.lesson_cutoff_minutes
    return datetime.combine(day, start) + timedelta(minutes=minutes)


def is_quiet(moment: time, rules: NoticeRules) -> bool:
    """Whether `moment` falls in the quiet hours (which may span midnight)."""
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def too_many(would_notify: int, group_size: int, rules: NoticeRules) -> bool:
    """Whether telling `would_notify` of a group of `group_size` looks like a false mass alert."""
    if group_size < rules.mass_alert_min_students or would_notify == 0:
        return False
    return would_notify / group_size > rules.mass_alert_share


def rules_from(values: dict[str, object], base: NoticeRules) -> NoticeRules:
    """`base` with a school's own settings applied (times as "HH:MM", numbers as numbers).

    Unknown keys and unreadable values are ignored: a school's settings never stop notices.
    """
    changes: dict[str, object] = {}
    for name, default in base.__dict__.items():
        if name not in values:
            continue
        value = values[name]
        try:
            if isinstance(default, bool):
                changes[name] = _yes_no(value)
            elif isinstance(default, tuple):
                changes[name] = day_counts(value)
            elif isinstance(default, time):
                changes[name] = time.fromisoformat(str(value))
            elif isinstance(default, float):
                changes[name] = float(str(value))
            elif isinstance(default, int):
                changes[name] = int(str(value))
        except ValueError:
            continue
    return NoticeRules(**{**base.__dict__, **changes})


_YES = frozenset({"1", "yes", "on", "true", "ja", "j"})
_NO = frozenset({"0", "no", "off", "false", "nej", "nei", "n"})


def _yes_no(value: object) -> bool:
    """A setting's on or off ("on", "off", "yes", "no", true, false, 1, 0)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _YES or word in _NO:
        return word in _YES
    raise ValueError(f"{value!r} is neither on nor off")


def day_counts(value: object) -> tuple[int, ...]:
    """Whole numbers of days from "5,10,15", a list [5, 10] or "off" (none), ascending."""
    if isinstance(value, list | tuple):
        parts = [str(part) for part in value]
    else:
        word = str(value).strip().lower()
        parts = [] if word in _NO or not word else word.replace(";", ",").split(",")
    numbers = {int(part.strip()) for part in parts}
    if any(number < 1 for number in numbers):
        raise ValueError(f"{value!r}: days are 1 or more")
    return tuple(sorted(numbers))


def setting_problem(key: str, value: str) -> str | None:
    """What is wrong with a school's notice setting `key=value`, or None if it is usable."""
    defaults = NoticeRules().__dict__
    if key not in defaults:
        return f"unknown setting; use one of {', '.join(sorted(defaults))}"
    default = defaults[key]
    if isinstance(default, bool):
        return None if value.strip().lower() in _YES | _NO else "must be on or off"
    if isinstance(default, tuple):
        try:
            day_counts(value)
        except ValueError:
            return "must be school days such as 5,10,15 (or off)"
        return None
    try:
        if isinstance(default, time):
            time.fromisoformat(value)
        elif isinstance(default, float):
            if not 0 < float(value) <= 1:
                return "must be a share between 0 and 1, such as 0.4"
        elif int(value) < 0:
            return "must be a whole number of minutes, 0 or more"
    except ValueError:
        kind = "a time such as 08:15" if isinstance(default, time) else "a number"
        return f"must be {kind}"
    return None
