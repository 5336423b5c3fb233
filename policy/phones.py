"""Phone numbers: normalised to E.164 with the school's country as the default region."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=65536)
def to_e164(raw: str, country: str) -> str | None:
    """`raw` as E.164 ("070-123 45 67" in SE → "+46701234567"), or None if not a valid number."""
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def as_dialled(e164: str, country: str) -> str:
    """An E.164 number as people in `country` dial it ("+4659012345" in SE → "0590-123 45");
    a number of another country, or one that cannot be read, stays as it is."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) != country.upper():
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
