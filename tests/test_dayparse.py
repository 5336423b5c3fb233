"""Tests for policy.dayparse: day expressions in guardians' messages, in ten languages."""

from datetime import date, time

import pytest
from babel import Locale

from policy.dayparse import DaySpan, parse_days

MONDAY = date(2026, 11, 23)  # the usual "today": Monday 23 November 2026
WEDNESDAY = date(2026, 11, 25)
SUNDAY = date(2026, 11, 29)


def day(month: int, dom: int, year: int = 2026) -> date:
    return date(year, month, dom)


def span(first: date, last: date | None = None) -> DaySpan:
    return DaySpan(first, last or first)


def part(on: date, start: tuple[int, int], end: tuple[int, int]) -> DaySpan:
    return DaySpan(on, on, time(*start), time(*end))


TODAY = span(MONDAY)
TOMORROW = span(day(11, 24))
OVERMORROW = span(day(11, 25))
YESTERDAY = span(day(11, 22))
MON_WED = span(day(11, 23), day(11, 25))
NOV_24 = span(day(11, 24))
NOV_24_26 = span(day(11, 24), day(11, 26))


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # Swedish
        ("Ali sjuk idag", "sv", TODAY),
        ("Ali sjuk i dag", "sv", TODAY),
        ("SJUK IDAG!", "sv", TODAY),
        ("imorgon", "sv", TOMORROW),
        ("i morgon", "sv", TOMORROW),
        ("imorn", "sv", TOMORROW),
        ("i morrn", "sv", TOMORROW),
        ("i övermorgon", "sv", OVERMORROW),
        ("i overmorgon", "sv", OVERMORROW),
        ("igår", "sv", YESTERDAY),
        ("i går", "sv", YESTERDAY),
        ("i förrgår", "sv", span(day(11, 21))),
        ("måndag", "sv", TODAY),
        ("Tisdag", "sv", TOMORROW),
        ("fre", "sv", span(day(11, 27))),
        ("lör.", "sv", span(day(11, 28))),
        ("mån–ons", "sv", MON_WED),
        ("man-ons", "sv", MON_WED),
        ("från måndag till onsdag", "sv", MON_WED),
        ("fr.o.m. måndag t.o.m. onsdag", "sv", MON_WED),
        ("måndag, tisdag och onsdag", "sv", MON_WED),
        ("idag och imorgon", "sv", span(MONDAY, day(11, 24))),
        ("igår och idag", "sv", span(day(11, 22), MONDAY)),
        ("i måndags", "sv", span(day(11, 16))),
        ("i fredags", "sv", span(day(11, 20))),
        ("förra måndagen", "sv", span(day(11, 16))),
        ("nästa måndag", "sv", span(day(11, 30))),
        ("t.o.m. fredag", "sv", span(MONDAY, day(11, 27))),
        ("Tandläkare 10-12", "sv", part(MONDAY, (10, 0), (12, 0))),
        ("i morgon 08:15-10:00", "sv", part(day(11, 24), (8, 15), (10, 0))),
        ("kl 10-12", "sv", part(MONDAY, (10, 0), (12, 0))),
        ("kl. 19-21", "sv", part(MONDAY, (19, 0), (21, 0))),
        ("8.15-10", "sv", part(MONDAY, (8, 15), (10, 0))),
        ("08:15 - 10", "sv", part(MONDAY, (8, 15), (10, 0))),
        ("10.00–12.00", "sv", part(MONDAY, (10, 0), (12, 0))),
        ("mellan 10 och 12", "sv", part(MONDAY, (10, 0), (12, 0))),
        ("10-12 imorgon", "sv", part(day(11, 24), (10, 0), (12, 0))),
        ("Ali har tid hos tandläkaren 24/11 kl 10-11", "sv", part(day(11, 24), (10, 0), (11, 0))),
        ("24/11", "sv", NOV_24),
        ("24.11", "sv", NOV_24),
        ("24.11.", "sv", NOV_24),
        ("24/11/2026", "sv", NOV_24),
        ("24/11/26", "sv", NOV_24),
        ("24.11.2026", "sv", NOV_24),
        ("2026-11-24", "sv", NOV_24),
        ("24 nov", "sv", NOV_24),
        ("den 24:e november", "sv", NOV_24),
        ("fredag 27/11", "sv", span(day(11, 27))),
        ("24.11–26.11", "sv", NOV_24_26),
        ("24/11 - 26/11", "sv", NOV_24_26),
        ("24-26/11", "sv", NOV_24_26),
        ("24 - 26 nov", "sv", NOV_24_26),
        ("sjuk 24/11 - 26", "sv", NOV_24_26),
        ("mån 23/11 - ons 25/11", "sv", MON_WED),
        ("Ali är sjuk idag. Han var sjuk igår", "sv", TODAY),  # the first one wins
        ("Tom imorgon", "sv", TOMORROW),
        # Norwegian
        ("Sara er syk i morgen", "nb", TOMORROW),
        ("Sara er syk i dag", "nb", TODAY),
        ("imorgen", "nb", TOMORROW),
        ("i overmorgen", "nb", OVERMORROW),
        ("i går", "nb", YESTERDAY),
        ("MANDAG", "nb", TODAY),
        ("på mandag", "nb", TODAY),
        ("på fredag", "nb", span(day(11, 27))),
        ("sist mandag", "nb", span(day(11, 16))),
        ("forrige fredag", "nb", span(day(11, 20))),
        ("fra mandag til onsdag", "nb", MON_WED),
        ("man. - ons.", "nb", MON_WED),
        ("tir.-tor.", "nb", span(day(11, 24), day(11, 26))),
        ("i dag og i morgen", "nb", span(MONDAY, day(11, 24))),
        ("Sara er syk fra i dag til fredag", "nb", span(MONDAY, day(11, 27))),
        ("fra kl 10 til 12", "nb", part(MONDAY, (10, 0), (12, 0))),
        ("sondag", "nb", span(day(11, 29))),
        # Danish
        ("i dag", "da", TODAY),
        ("i morgen", "da", TOMORROW),
        ("i går", "da", YESTERDAY),
        ("i gaar", "da", YESTERDAY),
        ("i mandags", "da", span(day(11, 16))),
        ("sidste fredag", "da", span(day(11, 20))),
        ("min søn er syg i dag", "da", TODAY),
        ("24. november", "da", NOV_24),
        ("d. 24/11", "da", NOV_24),
        ("24-11-2026", "da", NOV_24),
        ("24.-26.11.", "da", NOV_24_26),
        ("tirsdag", "da", TOMORROW),
        # English
        ("today", "en", TODAY),
        ("Tomorrow!", "en", TOMORROW),
        ("tmrw", "en", TOMORROW),
        ("day after tomorrow", "en", OVERMORROW),
        ("yesterday", "en", YESTERDAY),
        ("Noor sick Mon-Wed", "en", MON_WED),
        ("Mon", "en", TODAY),
        ("last monday", "en", span(day(11, 16))),
        ("next monday", "en", span(day(11, 30))),
        ("today and tomorrow", "en", span(MONDAY, day(11, 24))),
        ("from today to friday", "en", span(MONDAY, day(11, 27))),
        ("sick from Monday through Wednesday", "en", MON_WED),
        ("sick until Friday", "en", span(MONDAY, day(11, 27))),
        ("24 November 2026", "en", NOV_24),
        ("Nov 24", "en", NOV_24),
        ("November 24th, 2026", "en", NOV_24),
        ("Nov 24-26", "en", NOV_24_26),
        ("between 8:15 and 10", "en", part(MONDAY, (8, 15), (10, 0))),
        # Arabic
        ("مريض اليوم", "ar", TODAY),
        ("غدا", "ar", TOMORROW),
        ("غداً", "ar", TOMORROW),
        ("بكرة", "ar", TOMORROW),
        ("أمس", "ar", YESTERDAY),
        ("امس", "ar", YESTERDAY),
        ("اليوم وغدا", "ar", span(MONDAY, day(11, 24))),
        ("الثلاثاء", "ar", TOMORROW),
        ("الاثنين الماضي", "ar", span(day(11, 16))),
        ("من الاثنين إلى الأربعاء", "ar", MON_WED),
        ("٢٤/١١", "ar", NOV_24),
        # Somali
        ("Ali waa jiran maanta", "so", TODAY),
        ("berri", "so", TOMORROW),
        ("saadambe", "so", OVERMORROW),
        ("shalay", "so", YESTERDAY),
        ("dorraad", "so", span(day(11, 21))),
        ("Isniin", "so", TODAY),
        ("Isniinta", "so", TODAY),
        ("Talaado", "so", TOMORROW),
        ("Jimcaha", "so", span(day(11, 27))),
        ("Isniintii", "so", span(day(11, 16))),  # "-tii": the past one
        ("ka Isniin ilaa Arbaco", "so", MON_WED),
        ("Isniin-Arbaco", "so", MON_WED),
        ("ilaa Jimce", "so", span(MONDAY, day(11, 27))),
        ("maanta iyo berri", "so", span(MONDAY, day(11, 24))),
        ("24 Noofeembar", "so", NOV_24),
        ("Noofeembar 24", "so", NOV_24),
        ("saacadda 10-12", "so", part(MONDAY, (10, 0), (12, 0))),
        # Tigrinya
        ("ሎሚ", "ti", TODAY),
        ("ጽባሕ", "ti", TOMORROW),
        ("ፅባሕ", "ti", TOMORROW),
        ("ድሕሪ ጽባሕ", "ti", OVERMORROW),
        ("ትማሊ", "ti", YESTERDAY),
        ("ቅድሚ ትማሊ", "ti", span(day(11, 21))),
        ("tsbah", "ti", TOMORROW),
        ("ሰሉስ", "ti", TOMORROW),
        ("ብሰኑይ", "ti", TODAY),  # "on Monday", written as one word
        ("ንጽባሕ", "ti", TOMORROW),
        ("ካብ ሰኑይ ክሳብ ረቡዕ", "ti", MON_WED),
        ("ሰኑይ-ረቡዕ", "ti", MON_WED),
        ("ክሳብ ዓርቢ", "ti", span(MONDAY, day(11, 27))),
        ("ዝሓለፈ ሰኑይ", "ti", span(day(11, 16))),
        ("ዝመጽእ ሰኑይ", "ti", span(day(11, 30))),
        ("ሎሚ፣ ጽባሕ", "ti", span(MONDAY, day(11, 24))),
        ("24 ሕዳር", "ti", NOV_24),
        ("ሰዓት 10-12", "ti", part(MONDAY, (10, 0), (12, 0))),
        # Persian (Farsi and Dari)
        ("علی امروز مریض است", "fa", TODAY),
        ("فردا", "fa", TOMORROW),
        ("صبا", "fa", TOMORROW),
        ("پس\u200cفردا", "fa", OVERMORROW),
        ("پسفردا", "fa", OVERMORROW),
        ("پس فردا", "fa", OVERMORROW),
        ("دیروز", "fa", YESTERDAY),
        ("ديروز", "fa", YESTERDAY),  # Arabic yeh
        ("پریروز", "fa", span(day(11, 21))),
        ("دوشنبه", "fa", TODAY),
        ("سه\u200cشنبه", "fa", TOMORROW),  # not Saturday, "شنبه"
        ("سه شنبه", "fa", TOMORROW),
        ("سهشنبه", "fa", TOMORROW),
        ("۳شنبه", "fa", TOMORROW),
        ("پنج\u200cشنبه", "fa", span(day(11, 26))),
        ("یکشنبه", "fa", span(SUNDAY)),
        ("يكشنبه", "fa", span(SUNDAY)),
        ("شنبه", "fa", span(day(11, 28))),
        ("از دوشنبه تا چهارشنبه", "fa", MON_WED),
        ("تا جمعه", "fa", span(MONDAY, day(11, 27))),
        ("امروز و فردا", "fa", span(MONDAY, day(11, 24))),
        ("دوشنبه گذشته", "fa", span(day(11, 16))),
        ("دوشنبه\u200cی آینده", "fa", span(day(11, 30))),
        ("روز دوشنبه", "fa", TODAY),
        ("۲۴ نوامبر", "fa", NOV_24),
        ("۲۴ نومبر", "fa", NOV_24),  # Dari
        ("۲۴/۱۱", "fa", NOV_24),
        ("۲۴/۱۱ - ۲۶/۱۱", "fa", NOV_24_26),
        ("ساعت ۱۰ تا ۱۲", "fa", part(MONDAY, (10, 0), (12, 0))),
        # Ukrainian
        ("Зоряна хвора сьогодні", "uk", TODAY),
        ("завтра", "uk", TOMORROW),
        ("післязавтра", "uk", OVERMORROW),
        ("вчора", "uk", YESTERDAY),
        ("учора", "uk", YESTERDAY),
        ("позавчора", "uk", span(day(11, 21))),
        ("понеділок", "uk", TODAY),
        ("у вівторок", "uk", TOMORROW),
        ("в п'ятницю", "uk", span(day(11, 27))),
        ("п’ятниця", "uk", span(day(11, 27))),
        ("пятниця", "uk", span(day(11, 27))),
        ("з понеділка до середи", "uk", MON_WED),
        ("пн-ср", "uk", MON_WED),
        ("до п'ятниці", "uk", span(MONDAY, day(11, 27))),
        ("в понеділок і вівторок", "uk", span(MONDAY, day(11, 24))),
        ("минулого понеділка", "uk", span(day(11, 16))),
        ("наступного понеділка", "uk", span(day(11, 30))),
        ("24 листопада", "uk", NOV_24),
        ("24-26 листопада", "uk", NOV_24_26),
        ("з 24 по 26 листопада", "uk", NOV_24_26),
        ("о 10:00-12:00", "uk", part(MONDAY, (10, 0), (12, 0))),
        # Polish
        ("Zosia chora dziś", "pl", TODAY),
        ("dzis", "pl", TODAY),
        ("dzisiaj", "pl", TODAY),
        ("jutro", "pl", TOMORROW),
        ("pojutrze", "pl", OVERMORROW),
        ("wczoraj", "pl", YESTERDAY),
        ("przedwczoraj", "pl", span(day(11, 21))),
        ("poniedziałek", "pl", TODAY),
        ("poniedzialek", "pl", TODAY),
        ("we wtorek", "pl", TOMORROW),
        ("w środę", "pl", OVERMORROW),
        ("w srode", "pl", OVERMORROW),
        ("od poniedziałku do środy", "pl", MON_WED),
        ("pon.-śr.", "pl", MON_WED),
        ("chory do piątku", "pl", span(MONDAY, day(11, 27))),
        ("od jutra do piątku", "pl", span(day(11, 24), day(11, 27))),
        ("dziś i jutro", "pl", span(MONDAY, day(11, 24))),
        ("w poniedziałek i wtorek", "pl", span(MONDAY, day(11, 24))),
        ("w zeszły poniedziałek", "pl", span(day(11, 16))),
        ("w przyszły poniedziałek", "pl", span(day(11, 30))),
        ("24 listopada", "pl", NOV_24),
        ("24-26 listopada", "pl", NOV_24_26),
        ("od 24 do 26 listopada", "pl", NOV_24_26),
        ("godz. 10-12", "pl", part(MONDAY, (10, 0), (12, 0))),
        ("między 10 i 12", "pl", part(MONDAY, (10, 0), (12, 0))),
        # Mixed: the other languages are understood too.
        ("Ali sick idag", "en", TODAY),
        ("Sara syk tomorrow", "sv", TOMORROW),
        ("Ali jiran idag", "sv", TODAY),
        ("Noor sick jutro", "en", TOMORROW),
        # The new languages' words do not change what the others say.
        ("Maja 10-12 tandläkare", "sv", part(MONDAY, (10, 0), (12, 0))),  # not 10–12 May
        ("Pia sjuk idag", "sv", TODAY),  # not Polish "pią" (Friday)
        ("Ali isn't coming tomorrow", "en", TOMORROW),  # not Somali "Isn" (Monday)
        ("i fredags och idag", "sv", span(day(11, 20))),  # "i" + "-s" is past, not "and"
    ],
)
def test_parse_days_on_monday(text: str, language: str, expected: DaySpan) -> None:
    assert parse_days(text, language, MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("sjuk", "sv"),
        ("hej", "sv"),
        ("Ali", "sv"),
        ("", "sv"),
        ("1", "sv"),
        ("2", "nb"),
        ("1-2", "sv"),
        ("+46701740601", "sv"),
        ("070-174 06 01", "sv"),
        ("Ring 08-123 45 67", "sv"),
        ("08-12 34 56", "sv"),  # a phone number, not hours
        ("31/11", "sv"),
        ("31.11", "da"),
        ("30/2/2027", "sv"),
        ("12-10", "sv"),  # N > M is no time range
        ("kl 12-10", "sv"),
        ("i dag 10:00-09:00", "nb"),
        ("25-30", "sv"),  # not hours, no month: no date either
        ("24/11-20/11", "sv"),  # ends before it starts
        ("mån-ons 10-12", "sv"),  # a part of a day needs a single day
        ("kl 10", "sv"),  # a moment, not a span
        ("8.15", "sv"),
        ("Ali 10 år", "sv"),
        ("1.5 timmar sent", "sv"),  # a decimal, not 1 May
        ("Ali er syk, man vet ikke", "nb"),  # "man" = one, not Monday
        ("min søn er syg", "da"),  # "søn" = son, not Sunday
        ("har fri", "sv"),  # "fri" = free, not Friday
        ("Ali may be sick", "en"),  # a month name needs a day number
        ("t.o.m. igår", "sv"),  # a range up to a past day has no known start
        ("ساعت ۱۰ می رود", "fa"),  # "می" is the verb prefix, not Dari May
        ("نوامبر ۲۴", "fa"),  # Persian, Ukrainian and Polish write the day first
        ("listopada 24", "pl"),
        ("Ali sob", "en"),  # Polish "sob." only in a range or alone
        ("Ali isn't well", "en"),
        ("haa", "so"),
    ],
)
def test_no_day_or_a_wrong_one_gives_none(text: str, language: str) -> None:
    assert parse_days(text, language, MONDAY) is None


@pytest.mark.parametrize(
    ("text", "language", "today", "expected"),
    [
        # Weekdays: on or after today; past forms strictly before today.
        ("måndag", "sv", WEDNESDAY, span(day(11, 30))),
        ("onsdag", "sv", WEDNESDAY, span(WEDNESDAY)),
        ("Mon-Wed", "en", WEDNESDAY, span(day(11, 30), day(12, 2))),
        ("fre-ons", "sv", MONDAY, span(day(11, 27), day(12, 2))),
        ("i måndags", "sv", SUNDAY, span(day(11, 23))),
        ("i söndags", "sv", SUNDAY, span(day(11, 22))),
        ("forrige onsdag", "da", WEDNESDAY, span(day(11, 18))),
        ("last Friday", "en", SUNDAY, span(day(11, 27))),
        ("next Sunday", "en", SUNDAY, span(day(12, 6))),
        # Dates without a year: the nearest such date.
        ("2/1", "sv", day(12, 20), span(day(1, 2, 2027))),
        ("24/12", "sv", day(1, 5, 2027), span(day(12, 24))),
        ("24.11", "nb", day(6, 1), span(day(11, 24))),
        ("24.11", "nb", day(3, 1, 2027), span(day(11, 24))),
        ("30/12-2/1", "sv", day(12, 20), span(day(12, 30), day(1, 2, 2027))),
        ("1.5.", "nb", MONDAY, span(day(5, 1, 2027))),
        ("imorgon", "sv", day(12, 31), span(day(1, 1, 2027))),
        ("i går", "da", day(3, 1, 2028), span(day(2, 29, 2028))),
        ("Isniintii", "so", SUNDAY, span(day(11, 23))),
        ("ዝሓለፈ ረቡዕ", "ti", WEDNESDAY, span(day(11, 18))),
        ("چهارشنبه", "fa", WEDNESDAY, span(WEDNESDAY)),
        ("минулої середи", "uk", WEDNESDAY, span(day(11, 18))),
        ("jutro", "pl", day(12, 31), span(day(1, 1, 2027))),
    ],
)
def test_parse_days_relative_to_other_days(
    text: str, language: str, today: date, expected: DaySpan
) -> None:
    assert parse_days(text, language, today) == expected


def test_unknown_language_still_reads_the_supported_ones() -> None:
    assert parse_days("Ali sjuk idag", "fi", MONDAY) == TODAY
    assert parse_days("Ali jiran maanta", "fi", MONDAY) == TODAY
    assert parse_days("syk i morgen", "no", MONDAY) == TOMORROW


@pytest.mark.parametrize("language", ["sv", "nb", "da", "en", "ar", "so", "ti", "fa", "uk", "pl"])
def test_cldr_weekday_and_month_names_are_read(language: str) -> None:
    """Every wide weekday and month name in CLDR (Babel) for the language is understood."""
    locale = Locale.parse(language)
    for index, name in locale.days["format"]["wide"].items():
        assert parse_days(name, language, MONDAY) == span(day(11, 23 + index)), name
    for month, name in locale.months["format"]["wide"].items():
        assert parse_days(f"3 {name} 2027", language, MONDAY) == span(day(month, 3, 2027)), name


def test_polish_short_words_are_read_only_from_polish_speakers() -> None:
    """English "do" and Swedish "i" stay ordinary words; from a Pole they join days."""
    friday = date(2026, 11, 27)
    assert parse_days("We'll do Friday instead", "en", MONDAY) == DaySpan(friday, friday)
    assert parse_days("chory do piątku", "pl", MONDAY) == DaySpan(MONDAY, friday)
    thursday = date(2026, 11, 26)
    assert parse_days("sjuk torsdag i fredag", "sv", MONDAY) == DaySpan(thursday, thursday)
