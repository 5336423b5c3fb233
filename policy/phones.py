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


#: The language most people with a number of a country read, among the shipped ones.
_COUNTRY_LANGUAGE = {
    "SE": "sv", "NO": "nb", "DK": "da", "GB": "en", "IE": "en", "US": "en",
    "CA": "en", "AU": "en", "NZ": "en", "PL": "pl", "UA": "uk", "SO": "so", "ER": "ti",
    "IR": "fa", "AF": "fa", **dict.fromkeys((
        "SA", "EG", "IQ", "SY", "JO", "LB", "AE", "KW", "QA", "BH", "OM", "YE", "LY", "TN",
        "DZ", "MA", "SD", "PS"), "ar"),
}


def language_of_number(e164: str) -> str | None:
    """The shipped language a number's country suggests ("+45…" → "da"), for a sender we
    know nothing else of; None when it suggests none."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return _COUNTRY_LANGUAGE.get(phonenumbers.region_code_for_number(number) or "")
