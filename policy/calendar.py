"""School calendars: which days are school days, and the three-school-day reporting rule.

Pure domain rules with no I/O. Public holidays come from the ``holidays`` package; terms and
school breaks (sportlov, høstferie, juleferie, ...) are configured per school.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import islice
from typing import Any

import holidays

REPORT_DEADLINE_SCHOOL_DAYS = 3
"""An absence report is on time until the end of this many school days after the absence."""

# A calendar whose terms have ended has no school days at all; stop looking after this many
# consecutive days without one instead of looping forever.
_MAX_GAP_DAYS = 400

# Days on which schools are closed although they are not public holidays, taken from the
# holiday categories beyond "public". Sweden's "de_facto" category is exactly Midsommarafton,
# Julafton and Nyårsafton, which the Annual Leave Act treats like Sundays. Denmark's "optional"
# category also holds 1 May, on which schools are open, so only Grundlovsdag (5 June),
# Juleaftensdag and Nytårsaftensdag are picked, by date because names depend on the language.
_EXTRA_DAYS_OFF: dict[str, tuple[str, frozenset[tuple[int, int]] | None]] = {
    "SE": ("de_facto", None),
    "DK": ("optional", frozenset({(6, 5), (12, 24), (12, 31)})),
}


@cache
def _default_language(country: str) -> str | None:
    try:
        return holidays.country_holidays(country).default_language
    except NotImplementedError as exc:
        raise ValueError(f"Unsupported country code: {country!r}") from exc


@cache
def _days_off(country: str, year: int) -> Mapping[date, str]:
    """Holidays closing the schools of ``country`` in ``year``, with names in its own language."""
    # Pin the language: otherwise the names depend on the process locale.
    language = _default_language(country)
    # python-holidays can list every Swedish Sunday as a holiday; only real holidays count.
    options: dict[str, Any] = {"include_sundays": False} if country == "SE" else {}
    days: dict[date, str] = dict(
        holidays.country_holidays(country, years=year, language=language, **options)
    )
    if country in _EXTRA_DAYS_OFF:
        category, wanted = _EXTRA_DAYS_OFF[country]
        extra = holidays.country_holidays(
            country, years=year, language=language, categories=category
        )
        for day, name in extra.items():
            if wanted is None or (day.month, day.day) in wanted:
                days.setdefault(day, name)
    return days


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of dates, e.g. a term or a school break."""

    start: date
    end: date
    name: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"DateRange {self.name!r} ends ({self.end}) before it starts ({self.start})"
            )

    def __contains__(self, day: date) -> bool:
        """Whether ``day`` lies within the range, both ends included."""
        return self.start <= day <= self.end


#: Each country's default school year, used until a school imports its own terms: the
#: autumn term and the spring term as ((month, day), (month, day)). Approximations of the
#: usual national pattern, documented in README ("A school year without terms"): the
#: Christmas and summer breaks fall between them; shorter breaks (autumn, winter, Easter)
#: vary by region and are left to the school's own calendar.
DEFAULT_YEARS: dict[str, tuple[tuple[tuple[int, int], tuple[int, int]],
                               tuple[tuple[int, int], tuple[int, int]]]] = {
    "SE": (((8, 20), (12, 20)), ((1, 8), (6, 12))),
    "NO": (((8, 18), (12, 19)), ((1, 3), (6, 19))),
    "DK": (((8, 11), (12, 19)), ((1, 5), (6, 26))),
}
#: Any other country: the half years, with no breaks.
_HALF_YEARS = (((8, 1), (12, 31)), ((1, 1), (7, 31)))


def default_terms(country: str, year: int, *, half_years: bool = False
                  ) -> tuple[DateRange, DateRange]:
    """The default spring term of `year` and autumn term of `year` in `country` (or the
    plain half years)."""
    autumn, spring = _HALF_YEARS if half_years else DEFAULT_YEARS.get(country.upper(),
                                                                      _HALF_YEARS)
    return (DateRange(date(year, *spring[0]), date(year, *spring[1]), f"VT{year % 100:02d}"),
            DateRange(date(year, *autumn[0]), date(year, *autumn[1]), f"HT{year % 100:02d}"))


@dataclass(frozen=True)
class SchoolCalendar:
    """The school days of one school: weekdays that are not holidays or breaks, within terms.

    ``country`` is an ISO 3166 code supported by ``holidays`` ("SE", "NO", "DK", ...). When
    ``terms`` is non-empty a school day must fall inside one of them; days in ``breaks`` are
    never school days.
    """

    country: str
    terms: tuple[DateRange, ...] = ()
    breaks: tuple[DateRange, ...] = ()
    #: Without terms of its own, the country's default school year (`DEFAULT_YEARS`) holds:
    #: Christmas and summer are not school days. Off, every weekday that is not a holiday is.
    default_year: bool = False

    def __post_init__(self) -> None:
        country = self.country.strip().upper()
        _default_language(country)  # fail early on an unsupported country
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "breaks", tuple(self.breaks))

    def is_school_day(self, day: date) -> bool:
        """Whether pupils are expected at school on ``day``."""
        return (
            day.weekday() < 5
            and day not in _days_off(self.country, day.year)
            and not any(day in b for b in self.breaks)
            and (any(day in t for t in self.terms) if self.terms else
                 not self.default_year or any(day in t for t in default_terms(
                     self.country, day.year)))
        )

    def default_term(self, day: date) -> DateRange:
        """The default year's term `day` falls in, or the one before it (in a break);
        without `default_year`, the half year."""
        plain = not self.default_year
        terms = [*default_terms(self.country, day.year - 1, half_years=plain),
                 *default_terms(self.country, day.year, half_years=plain)]
        return max((term for term in terms if term.start <= day), key=lambda t: t.start)

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday closing schools on ``day`` (in the local language), or None."""
        return _days_off(self.country, day.year).get(day)

    def _school_days_from(self, day: date, step: int) -> Iterator[date]:
        """Yield school days strictly after (step 1) or before (step -1) ``day``, nearest first.

        Stops after ``_MAX_GAP_DAYS`` consecutive days without a school day.
        """
        gap = 0
        while gap < _MAX_GAP_DAYS:
            day += timedelta(days=step)
            if self.is_school_day(day):
                gap = 0
                yield day
            else:
                gap += 1

    def add_school_days(self, day: date, n: int) -> date:
        """The ``n``-th school day after ``day`` (before it if ``n`` < 0); ``day`` if ``n`` == 0.

        ``day`` itself is not counted and need not be a school day. Raises ValueError when no
        school day is found within ``_MAX_GAP_DAYS`` days.
        """
        if n == 0:
            return day
        walk = self._school_days_from(day, 1 if n > 0 else -1)
        found = next(islice(walk, abs(n) - 1, None), None)
        if found is None:
            raise ValueError(f"No school day found {n:+d} school days from {day}")
        return found

    def school_days(self, first: date, last: date) -> list[date]:
        """The school days from ``first`` to ``last``, both included, in order."""
        count = (last - first).days + 1
        days = (first + timedelta(days=i) for i in range(count))
        return [day for day in days if self.is_school_day(day)]

    def report_deadline(self, absence_day: date) -> date:
        """The last day on which an absence on ``absence_day`` may be reported on time.

        The three-school-day rule: the report is on time until the end of the third school day
        after the absence (absent Monday, report by Thursday), skipping weekends, holidays and
        breaks.
        """
        return self.add_school_days(absence_day, REPORT_DEADLINE_SCHOOL_DAYS)

    def is_report_on_time(self, absence_day: date, report_day: date) -> bool:
        """Whether a report made on ``report_day`` for ``absence_day`` meets the deadline."""
        return report_day <= self.report_deadline(absence_day)

    def earliest_reportable_day(
        self, today: date, deadline_school_days: int = REPORT_DEADLINE_SCHOOL_DAYS
    ) -> date:
        """The earliest school day whose absence may still be reported on time ``today``.

        That is the third school day before ``today`` (the earliest D with
        ``report_deadline(D) >= today``). Near the ends of the calendar, where fewer school days
        exist, the window stays open: the oldest earlier school day found is returned, or the
        next school day if there is none. Raises ValueError if there are no school days at all.
        """
        earlier = list(islice(self._school_days_from(today, -1), deadline_school_days))
        if earlier:
            # With fewer than three earlier school days (start of the calendar) every one of
            # them is still reportable, so the oldest found is the answer.
            return earlier[-1]
        return today if self.is_school_day(today) else self.add_school_days(today, 1)
