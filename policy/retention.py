"""Retention rules: how long a guardian's note on an absence report is kept, and the text
of a message sent.

A note may hold health details. It is kept to the end of the school year the absence
fell in, plus a grace period (30 days unless the school says otherwise), then purged;
the report itself (days, category) stays, as the school's record. A message may repeat a
reason or someone's words (a receipt, an application shown to whoever decides), so its
text is kept as a note about the day it was written would be, and at least the grace
period after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from policy.calendar import DateRange

#: Scandinavian school years start in August.
YEAR_STARTS_MONTH = 8
#: Without terms in the calendar the year is taken to end on 30 June.
DEFAULT_YEAR_END = (6, 30)
DEFAULT_GRACE_DAYS = 30


def school_year_end(day: date, terms: Iterable[DateRange]) -> date:
    """The last day of the school year `day` belongs to: the latest term end in it."""
    first = day.year if day.month >= YEAR_STARTS_MONTH else day.year - 1
    start, limit = date(first, YEAR_STARTS_MONTH, 1), date(first + 1, YEAR_STARTS_MONTH, 1)
    ends = [term.end for term in terms if start <= term.end < limit]
    return max(ends) if ends else date(first + 1, *DEFAULT_YEAR_END)


def note_kept_until(day: date, terms: Iterable[DateRange],
                    grace_days: int = DEFAULT_GRACE_DAYS) -> date:
    """The last day a note about an absence on `day` is kept."""
    return school_year_end(day, terms) + timedelta(days=grace_days)


def texts_kept_from(today: date, terms: Iterable[DateRange],
                    grace_days: int = DEFAULT_GRACE_DAYS) -> date:
    """The first day whose messages still keep their text on `today`; the texts of the days
    before are due to be cleared.

    A text written on day d is kept through `note_kept_until(d)`, and through d plus
    `grace_days` (a message of the summer holiday, after the year's notes went, is not
    cleared the day after): the days cleared are those of the school years whose notes are
    gone, up to `grace_days` before today.
    """
    terms = list(terms)
    year = today.year if today.month >= YEAR_STARTS_MONTH else today.year - 1
    while note_kept_until(date(year, YEAR_STARTS_MONTH, 1), terms, grace_days) >= today:
        year -= 1
    return min(date(year + 1, YEAR_STARTS_MONTH, 1), today - timedelta(days=grace_days))
