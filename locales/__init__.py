"""Gettext catalogs and the loader that gives a translator for a language.

The language is always explicit: handlers and the scheduler pass the
recipient's stored language; nothing here is ambient.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
#: Languages with a complete catalog; a test fails if any message lacks a translation.
LANGUAGES: tuple[str, ...] = ("sv", "nb", "da", "en", "ar", "so", "ti", "fa", "uk", "pl")
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
_ALIASES = {"no": "nb", "nn": "nb", "se": "sv", "dk": "da"}


def canonical(code: str) -> str:
    """A language code without region and with its aliases resolved ("no-NO" → "nb"); unlike
    `normalize_language`, a language without a catalog stays itself ("fi")."""
    base = code.replace("_", "-").split("-")[0].lower()
    return _ALIASES.get(base, base)


def normalize_language(code: str | None) -> str:
    """The shipped language closest to `code` ("sv-SE" → "sv", "no" → "nb"), else English."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=32)
def translator(language: str) -> gettext.NullTranslations:
    """The translations for `language` (falls back to the English source strings)."""
    language = normalize_language(language)
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def gettext_for(
    language: str, message: str, *, isolate: bool = True, **values: object
) -> str:
    """`message` translated into `language`, with `{placeholders}` filled in.

    In a right-to-left language each value is isolated (FSI … PDI), so a Latin name,
    a phone number or a date keeps its own order inside the Arabic or Persian sentence;
    `isolate=False` leaves them out where every character counts (an SMS menu line).
    """
    text = translator(language).gettext(message)
    if not values:
        return text
    values = _joined(text, values)
    return text.format(**(_isolated(language, values) if isolate else values))


def ngettext_for(language: str, singular: str, plural: str, n: int, **values: object) -> str:
    """The singular or plural form for `n` in `language`, with placeholders filled in."""
    text = translator(language).ngettext(singular, plural, n)
    return text.format(**_isolated(language, _joined(text, {"n": n, **values})))


def _joined(template: str, values: dict[str, object]) -> dict[str, object]:
    """A value ending in a full stop ("mån 30 nov.", a task's "…varje vecka.") loses it
    where the text goes on with punctuation: never "nov.." or "vecka.: Emil"."""
    joined = dict(values)
    for name, value in values.items():
        if (isinstance(value, str) and value.endswith(".") and not value.endswith("..")
                and any("{" + name + "}" + mark in template for mark in ".:,;")):
            joined[name] = value[:-1]
    return joined


_FSI, _PDI = "\u2068", "\u2069"


def _isolated(language: str, values: dict[str, object]) -> dict[str, object]:
    if normalize_language(language) not in RIGHT_TO_LEFT:
        return values
    return {name: f"{_FSI}{value}{_PDI}" for name, value in values.items()}


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, per recipient."""
    return message
