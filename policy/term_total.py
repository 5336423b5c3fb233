"""Telling guardians the term's total: which threshold of school days missed is due.

Parents underestimate their child's absence, and a plain statement of the total lowers it
(Rogers & Feller 2018). A school sets thresholds in school days missed this term
(`NoticeRules.term_total_days`, such as 5, 10, 15); when a child's total passes one, the
guardians hear the number once. What counts is every absence, reported or not, in whole
school days (a day missed for three quarters of it or more is a whole day:
`policy.ladder.days_missed`): the total is about days away from school, not about fault
(Lyngen's plan: "fraværet får like alvorlige konsekvenser uavhengig av om det er gyldig eller
ugyldig"). Days are counted once they have ended. Pure rules, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from policy.notices import NoticeRules


def counted_through(local: datetime, rules: NoticeRules) -> date:
    """The last day whose absence counts at the local time `local`: today once the school
    day is over (`day_ends`), yesterday before (a day counts once it has ended)."""
    today = local.date()
    return today if local.time() >= rules.day_ends else today - timedelta(days=1)


def threshold_to_tell(missed: int, thresholds: Sequence[int], told: Collection[int]) -> int | None:
    """The threshold the guardians are to hear about now: the highest that `missed` days
    reach, unless it, or a higher one, was told this term already (a jump past two
    thresholds tells once; a correction that lowers the total tells nothing again)."""
    reached = [threshold for threshold in thresholds if missed >= threshold]
    if not reached:
        return None
    highest = max(reached)
    return None if any(done >= highest for done in told) else highest
