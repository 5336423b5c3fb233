"""Action plans (Lyngen's "Tiltaksplan", seed 004; Bengtsfors' "plan för ökad närvaro",
seed 001): measures at the student's, the home's, the school's and, once a team is
involved, the health service's level, each with what, who and by when. Pure rules.

A measure's level follows from who owns it: the student, a guardian (home), teaching staff
(school), the nurse or counsellor (health).
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("student", "home", "school", "health")
#: The plan is evaluated after two weeks (seed 004: "Etter 2 uker").
EVALUATE_AFTER_SCHOOL_DAYS = 10
MAX_WHAT = 200
_HEALTH_ROLES = frozenset({"nurse", "counsellor"})
#: Commas and colons as phone keyboards type them in Arabic, Persian, Tigrinya, CJK.
_SEPARATORS = str.maketrans({"،": ",", "፣": ",", "，": ",", "、": ",", "：": ":", "፥": ":"})


def level_of(*, is_student: bool, is_guardian: bool, roles: frozenset[str]) -> str:
    """The level of a measure owned by someone who is the student, a guardian, or staff
    with `roles`."""
    if is_student:
        return "student"
    if is_guardian:
        return "home"
    return "health" if roles and roles <= _HEALTH_ROLES else "school"


@dataclass(frozen=True)
class MeasureLine:
    """One line of a written plan, "who: what, by when", split but not yet understood."""

    who: str
    what: str
    when: str


def split_line(line: str) -> MeasureLine | None:
    """"Eva: follows Elin to the bus, 7/12" as who, what and when (when: after the last
    comma, may be empty); None when there is no "who:" before it."""
    line = line.translate(_SEPARATORS)
    who, colon, rest = line.partition(":")
    if not colon or not who.strip() or not rest.strip():
        return None
    what, comma, when = rest.rpartition(",")
    if not comma:
        what, when = rest, ""
    return MeasureLine(who.strip(), " ".join(what.split()), when.strip())


def share_absent(absent: int, days: int) -> int:
    """Absence as a whole percentage of `days` school days (0 with no days)."""
    return round(100 * absent / days) if days else 0
