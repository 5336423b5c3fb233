"""The mentor's weekly watchlist (seed 004: "the contact teacher shall at all times know which
students are approaching 10 % absence, 10 single lessons or repeated lateness"): which
students are within a margin of a step of their plan they have not reached. Pure rules.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from policy.ladder import Ladder

#: Counters a watchlist speaks of (concern and weeks on a step are no one's "near").
WATCHED = ("absence_percent", "unexcused_percent", "lesson_absences", "late_this_month",
           "unexcused_occasions", "absence_occasions")
#: "Near": at least this share of the threshold (8 % on the way to 10 %).
MARGIN = 0.8
_COUNTS = frozenset(WATCHED) - {"absence_percent", "unexcused_percent"}


@dataclass(frozen=True)
class Near:
    """A threshold the student is close to: the counter, its value, the step's limit."""

    counter: str
    value: float
    limit: float
    step_id: str


def nearest(ladder: Ladder, counters: dict[str, float], *,
            margin: float = MARGIN) -> Near | None:
    """The closest threshold of the lowest step not reached whose condition lacks only one
    watched comparison that the student is near; None when nobody need worry yet."""
    for step in sorted(ladder.steps, key=lambda s: s.level):
        if step.when.holds(counters):
            continue
        found = []
        for group in step.when.groups:
            unmet = [(name, op, limit) for name, op, limit in group
                     if not _OPS[op](counters.get(name, 0.0), limit)]
            if len(unmet) != 1:
                continue
            name, op, limit = unmet[0]
            value = counters.get(name, 0.0)
            if name in WATCHED and op in _OPS_UP and limit > 0 and value > 0 and (
                    value >= margin * limit or (name in _COUNTS and limit - value <= 1
                                                and limit >= 3)):
                found.append(Near(name, value, limit, step.id))
        if found:
            return max(found, key=lambda near: near.value / near.limit)
    return None


def trend(now: float, week_ago: float) -> int:
    """+1 rising, -1 falling, 0 steady (a percentage moving less than half a point is
    steady)."""
    if abs(now - week_ago) < 0.5:
        return 0
    return 1 if now > week_ago else -1


_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
        "==": operator.eq}
_OPS_UP = frozenset({">=", ">"})
