"""What a school's own settings may be: a time zone, a country, a language and a phone
number that the rest of the code can rely on (each refusal says what to write instead)."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def _countries() -> frozenset[str]:
    import holidays  # only when a country is checked: the settings load without it

    return frozenset(holidays.list_supported_countries())


def timezone_problem(value: str) -> str | None:
    """Why `value` is not a time zone, or None ("Europe/Stockholm" is one)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return (f"{value!r} is not a known time zone; use an IANA name such as "
                "Europe/Stockholm, Europe/Oslo or Europe/Copenhagen")
    if value not in available_timezones():  # "UTC+1", a file path: not a zone name
        return f"{value!r} is not an IANA time zone name such as Europe/Stockholm"
    return None


def country_problem(value: str) -> str | None:
    """Why `value` is not a country whose public holidays are known, or None."""
    if value.upper() not in _countries():
        return (f"{value!r} is not a country code whose public holidays are known; use SE, "
                "NO or DK (ISO 3166)")
    return None


def language_problem(value: str, languages: Collection[str]) -> str | None:
    """Why `value` is not one of the shipped `languages`, or None."""
    if value not in languages:
        return f"{value!r} is not a language Närvaro writes; use one of {', '.join(languages)}"
    return None


def school_phone(value: str, country: str) -> str | None:
    """The school's number as E.164, read in its `country`; None if it is not a number."""
    from policy.phones import to_e164  # phonenumbers: only when a phone is checked

    return to_e164(value, country)
