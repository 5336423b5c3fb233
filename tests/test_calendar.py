"""Tests for policy.calendar on the real 2026–2027 calendars of Sweden, Norway and Denmark."""

from datetime import date, timedelta

import pytest

from policy.calendar import REPORT_DEADLINE_SCHOOL_DAYS, DateRange, SchoolCalendar

SPORTLOV_2027 = DateRange(date(2027, 3, 1), date(2027, 3, 5), "sportlov")  # week 9, Mon–Fri
JULLOV_2026 = DateRange(date(2026, 12, 21), date(2027, 1, 8), "jullov")
HT_2026 = DateRange(date(2026, 8, 17), date(2026, 12, 22), "HT 2026")
VT_2027 = DateRange(date(2027, 1, 7), date(2027, 6, 11), "VT 2027")

SE = SchoolCalendar("SE", breaks=(SPORTLOV_2027,))
NO = SchoolCalendar("NO")
DK = SchoolCalendar("DK")
SE_TERMS = SchoolCalendar("SE", terms=(HT_2026, VT_2027), breaks=(JULLOV_2026, SPORTLOV_2027))


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        (SE, date(2026, 11, 23), True),  # ordinary Monday
        (SE, date(2026, 11, 28), False),  # Saturday
        (SE, date(2027, 3, 7), False),  # ordinary Sunday
        (SE, date(2027, 2, 26), True),  # Friday before sportlov
        (SE, date(2027, 3, 1), False),  # sportlov Monday
        (SE, date(2027, 3, 5), False),  # sportlov Friday
        (SE, date(2027, 3, 8), True),  # back from sportlov
        (SE, date(2027, 3, 25), True),  # Skärtorsdag is a school day in Sweden
        (SE, date(2027, 3, 26), False),  # Långfredagen
        (SE, date(2027, 3, 29), False),  # Annandag påsk
        (SE, date(2027, 1, 6), False),  # Trettondedag jul, a Wednesday
        (SE, date(2027, 6, 24), True),  # day before Midsommarafton
        (SE, date(2027, 6, 25), False),  # Midsommarafton
        (SE, date(2026, 12, 24), False),  # Julafton, a Thursday
        (SE, date(2026, 12, 31), False),  # Nyårsafton, a Thursday
        (NO, date(2027, 5, 17), False),  # Grunnlovsdag and Andre pinsedag, a Monday
        (NO, date(2027, 5, 6), False),  # Kristi himmelfartsdag
        (NO, date(2027, 5, 14), True),
        (NO, date(2027, 3, 25), False),  # Skjærtorsdag
        (DK, date(2027, 4, 23), True),  # former Store Bededag, abolished from 2024
        (DK, date(2023, 5, 5), False),  # Store Bededag while it still existed
        (DK, date(2027, 3, 25), False),  # Skærtorsdag
        (DK, date(2026, 6, 5), False),  # Grundlovsdag, a Friday
        (DK, date(2026, 5, 1), True),  # 1 May: schools are open
    ],
)
def test_is_school_day(cal: SchoolCalendar, day: date, expected: bool) -> None:
    assert cal.is_school_day(day) is expected


@pytest.mark.parametrize(
    ("cal", "day", "name"),
    [
        (SE, date(2027, 3, 26), "Långfredagen"),
        (SE, date(2027, 3, 29), "Annandag påsk"),
        (SE, date(2027, 6, 25), "Midsommarafton"),
        (SE, date(2027, 3, 7), None),  # python-holidays counts Swedish Sundays unless told not to
        (SE, date(2027, 3, 1), None),  # a break is not a holiday
        (NO, date(2027, 5, 6), "Kristi himmelfartsdag"),
        (DK, date(2027, 4, 23), None),
        (DK, date(2026, 6, 5), "Grundlovsdag"),
    ],
)
def test_holiday_name(cal: SchoolCalendar, day: date, name: str | None) -> None:
    assert cal.holiday_name(day) == name


def test_norwegian_17_may_name_mentions_constitution_day() -> None:
    name = NO.holiday_name(date(2027, 5, 17))
    assert name is not None and "Grunnlovsdag" in name


@pytest.mark.parametrize(
    ("cal", "absent", "deadline"),
    [
        (SE, date(2026, 11, 23), date(2026, 11, 26)),  # Monday -> Thursday
        (SE, date(2026, 11, 26), date(2026, 12, 1)),  # Thursday -> Tuesday over the weekend
        # Thursday before Easter: Fri 26 and Mon 29 are holidays -> Tue 30, Wed 31, Thu 1 Apr
        (SE, date(2027, 3, 25), date(2027, 4, 1)),
        (SE, date(2027, 2, 26), date(2027, 3, 10)),  # sportlov week skipped
        (SE, date(2027, 6, 24), date(2027, 6, 30)),  # Midsommarafton skipped
        (SE, date(2026, 12, 31), date(2027, 1, 7)),  # 1 Jan and 6 Jan skipped
        (NO, date(2027, 5, 14), date(2027, 5, 20)),  # weekend and 17 May skipped
        (NO, date(2027, 5, 5), date(2027, 5, 11)),  # Ascension Day and weekend skipped
        (DK, date(2027, 4, 21), date(2027, 4, 26)),  # former Store Bededag counts
    ],
)
def test_report_deadline(cal: SchoolCalendar, absent: date, deadline: date) -> None:
    assert cal.report_deadline(absent) == deadline
    assert cal.is_report_on_time(absent, deadline)
    assert cal.is_report_on_time(absent, absent)
    assert not cal.is_report_on_time(absent, deadline + timedelta(days=1))


@pytest.mark.parametrize(
    ("today", "earliest"),
    [
        (date(2026, 11, 26), date(2026, 11, 23)),  # Thursday -> Monday
        (date(2026, 11, 27), date(2026, 11, 24)),  # Friday -> Tuesday
        (date(2026, 11, 28), date(2026, 11, 25)),  # Saturday: Friday's deadline still ahead
        (date(2027, 3, 31), date(2027, 3, 24)),  # over the Easter holidays
    ],
)
def test_earliest_reportable_day(today: date, earliest: date) -> None:
    assert SE.earliest_reportable_day(today) == earliest


@pytest.mark.parametrize("cal", [SE, NO, DK, SE_TERMS])
def test_earliest_reportable_day_agrees_with_deadlines(cal: SchoolCalendar) -> None:
    days = cal.school_days(date(2026, 8, 24), date(2027, 6, 4))
    for today in (date(2026, 9, 1) + timedelta(days=i) for i in range(0, 270, 3)):
        on_time = [d for d in days if cal.report_deadline(d) >= today]
        assert cal.earliest_reportable_day(today) == on_time[0], today


def test_earliest_reportable_day_at_start_of_first_term() -> None:
    cal = SchoolCalendar("SE", terms=(HT_2026,))
    assert cal.earliest_reportable_day(date(2026, 8, 18)) == date(2026, 8, 17)
    assert cal.earliest_reportable_day(date(2026, 8, 1)) == date(2026, 8, 17)


def test_terms_exclude_summer_holiday() -> None:
    assert not SE_TERMS.is_school_day(date(2027, 6, 21))  # Monday after the spring term
    assert not SE_TERMS.is_school_day(date(2026, 8, 14))  # Friday before the autumn term
    assert SE_TERMS.is_school_day(date(2026, 8, 17))
    assert SE_TERMS.is_school_day(date(2027, 6, 11))


def test_add_school_days_across_christmas_break() -> None:
    # Last school day before jullov is Fri 18 Dec; first after it is Mon 11 Jan.
    assert SE_TERMS.add_school_days(date(2026, 12, 17), 2) == date(2027, 1, 11)
    assert SE_TERMS.add_school_days(date(2027, 1, 11), -1) == date(2026, 12, 18)
    assert SE_TERMS.report_deadline(date(2026, 12, 17)) == date(2027, 1, 12)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 11, 26), 0, date(2026, 11, 26)),
        (date(2026, 11, 28), 0, date(2026, 11, 28)),  # n == 0 returns even a non-school day
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # from a Saturday
        (date(2026, 11, 26), -3, date(2026, 11, 23)),
        (date(2026, 11, 30), -1, date(2026, 11, 27)),
        (date(2027, 3, 30), -1, date(2027, 3, 25)),  # back over Easter
        (date(2027, 3, 8), -1, date(2027, 2, 26)),  # back over sportlov
        (date(2026, 11, 23), 10, date(2026, 12, 7)),
    ],
)
def test_add_school_days(start: date, n: int, expected: date) -> None:
    assert SE.add_school_days(start, n) == expected


def test_school_days() -> None:
    # Weeks 8 and 10 of 2027 are full weeks; week 9 is sportlov.
    days = SE.school_days(date(2027, 2, 22), date(2027, 3, 14))
    assert len(days) == 10
    assert days[0] == date(2027, 2, 22) and days[-1] == date(2027, 3, 12)
    assert SE.school_days(date(2027, 3, 1), date(2027, 3, 7)) == []
    assert SE.school_days(date(2027, 3, 12), date(2027, 3, 8)) == []


def test_calendar_without_school_days_raises() -> None:
    ended = SchoolCalendar("SE", terms=(HT_2026,))
    with pytest.raises(ValueError):
        ended.add_school_days(date(2027, 1, 4), 1)
    with pytest.raises(ValueError):
        ended.report_deadline(date(2026, 12, 21))
    assert ended.add_school_days(date(2026, 12, 28), -1) == date(2026, 12, 22)
    # Fewer than three school days have passed since Fri 18 Dec, so it stays reportable.
    assert ended.earliest_reportable_day(date(2027, 1, 4)) == date(2026, 12, 18)
    with pytest.raises(ValueError):
        SchoolCalendar(
            "SE", breaks=(DateRange(date(2020, 1, 1), date(2030, 12, 31)),)
        ).earliest_reportable_day(date(2027, 1, 4))


def test_date_range() -> None:
    assert date(2027, 3, 1) in SPORTLOV_2027 and date(2027, 3, 5) in SPORTLOV_2027
    assert date(2027, 2, 28) not in SPORTLOV_2027
    assert date(2027, 3, 1) in DateRange(date(2027, 3, 1), date(2027, 3, 1))
    with pytest.raises(ValueError):
        DateRange(date(2027, 3, 5), date(2027, 3, 1))


def test_country_code_is_normalised_and_validated() -> None:
    assert SchoolCalendar("se").country == "SE"
    assert SchoolCalendar("dk") == SchoolCalendar("DK")
    with pytest.raises(ValueError):
        SchoolCalendar("XX")


def test_deadline_constant() -> None:
    assert REPORT_DEADLINE_SCHOOL_DAYS == 3
