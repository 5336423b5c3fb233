"""Day expressions in guardians' free text: "sjuk idag", "Mon-Wed", "24.11–26.11", "kl 10-12".

Pure domain rules with no I/O. The text is read in the guardian's language first, then in the
other supported ones (sv, nb, da, en, ar, so, ti, fa, uk, pl), since families mix languages.
Weekday and month names come from Babel's CLDR data, with the inflected forms people type
added by hand ("Isniinta", "w środę", "до п'ятниці"); relative day words ("i morgon", "igår")
are hand-written because CLDR has none usable here. Dates are always day first, as in the
Nordic countries; Arabic-Indic and Persian digits are read as digits.

Parsing runs in two passes. Lexing turns the text into items: days (relative, weekday or
date), numbers, times and joiners ("-", "till", "och", "från", "kl"). Scanning then reads
the first day expression (one day or a range) and the first time range, left to right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from functools import lru_cache

from babel import Locale

from policy.freetext import fold


@dataclass(frozen=True)
class DaySpan:
    """Days from `first` to `last`, both included; or part of one day, from `part_start`."""

    first: date
    last: date
    part_start: time | None = None  # part of a day: both set, and then first == last
    part_end: time | None = None


LANGUAGES = ("sv", "nb", "da", "en", "ar", "so", "ti", "fa", "uk", "pl")
"""The languages whose day words are understood, whatever the guardian's language."""

_ONE_DAY = timedelta(days=1)

# Relative day words per language: the offset in days from today.
_RELATIVE: dict[str, dict[str, int]] = {
    "sv": {
        "idag": 0, "i dag": 0, "i morse": 0, "imorgon": 1, "i morgon": 1, "imorn": 1,
        "i morn": 1, "imorrn": 1, "i morrn": 1, "i övermorgon": 2, "iövermorgon": 2,
        "igår": -1, "i går": -1, "i förrgår": -2, "iförrgår": -2,
    },
    "nb": {
        "i dag": 0, "idag": 0, "i morges": 0, "i morgen": 1, "imorgen": 1, "i morra": 1,
        "imorra": 1, "i overmorgen": 2, "i går": -1, "igår": -1, "i forgårs": -2,
    },
    "da": {
        "i dag": 0, "idag": 0, "i morges": 0, "i morgen": 1, "imorgen": 1,
        "i overmorgen": 2, "i går": -1, "igår": -1, "i forgårs": -2,
    },
    "en": {
        "today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "tomorow": 1, "tommorow": 1,
        "tommorrow": 1, "day after tomorrow": 2, "the day after tomorrow": 2, "yesterday": -1,
        "day before yesterday": -2, "the day before yesterday": -2,
    },
    "ar": {
        "اليوم": 0, "غدا": 1, "غداً": 1, "بكرة": 1, "بكره": 1, "بعد غد": 2, "بعد بكرة": 2,
        "أمس": -1, "امس": -1, "البارحة": -1, "أول أمس": -2,
    },
    "so": {
        "maanta": 0, "berri": 1, "beri": 1, "saadambe": 2, "saa dambe": 2, "shalay": -1,
        "shaley": -1, "dorraad": -2, "doraad": -2,
    },
    # ጸ and ፀ are written for one another; Eritreans also write Tigrinya in Latin letters.
    "ti": {
        "ሎሚ": 0, "ጽባሕ": 1, "ፅባሕ": 1, "ድሕሪ ጽባሕ": 2, "ድሕሪ ፅባሕ": 2, "ትማሊ": -1, "ትማል": -1,
        "ቅድሚ ትማሊ": -2, "lomi": 0, "tsbah": 1, "tsebah": 1, "timali": -1, "tmali": -1,
    },
    # With or without the zero-width non-joiner: "پس‌فردا", "پسفردا". Dari says "صبا" too.
    "fa": {
        "امروز": 0, "فردا": 1, "صبا": 1, "پس‌فردا": 2, "پس فردا": 2, "دیروز": -1, "پریروز": -2,
        "پری روز": -2, "emrooz": 0, "emruz": 0, "farda": 1, "dirooz": -1, "diruz": -1,
    },
    "uk": {
        "сьогодні": 0, "сьодні": 0, "завтра": 1, "післязавтра": 2, "після завтра": 2,
        "вчора": -1, "учора": -1, "позавчора": -2,
    },
    # "jutra" as in "od jutra", "do jutra"; fold() reads "dzis" as "dziś".
    "pl": {
        "dziś": 0, "dzisiaj": 0, "jutro": 1, "jutra": 1, "pojutrze": 2, "wczoraj": -1,
        "przedwczoraj": -2,
    },
}

# Words that shape an expression. "until" words also open a range that starts today
# ("t.o.m. fredag"); plain "till"/"til"/"to" do not, since they also mean "for". Polish "do",
# Ukrainian "до"/"по", Persian "تا", Somali "ilaa" and Tigrinya "ክሳብ" are "until": "chory do
# piątku" is sick from today to Friday (the Nordic "for" is Polish "na", Ukrainian "на").
# Polish "i" (and) does not hide the Swedish and Danish "i måndags" (last Monday).
_MARKERS: dict[str, tuple[str, ...]] = {
    "to": ("till", "til", "to", "الى", "إلى"),
    "until": (
        "until", "through", "thru", "till och med", "til og med", "حتى", "لغاية",
        "ilaa", "ክሳብ", "ክሳዕ", "تا", "до", "по", "do",
    ),
    # Swedish texters write "och" as "o" ("idag o imorgon").
    "and": ("och", "o", "og", "and", "و", "iyo", "і", "й", "та", "i", "oraz", "ን"),
    "from": (
        "från", "fra", "from", "från och med", "fra og med", "fom", "من",
        "ka", "ካብ", "از", "з", "із", "зі", "від", "od",
    ),
    "between": ("mellan", "mellom", "mellem", "between", "بين", "між", "między", "pomiędzy"),
    "kl": (
        "kl", "klockan", "klokka", "klokken", "الساعة",
        "saacadda", "saacada", "ሰዓት", "ساعت", "о", "об", "godz", "godzina", "godzinie",
    ),
    "past": (
        "förra", "sist", "siste", "forrige", "sidste", "last", "previous",
        "ዝሓለፈ",
        "минулого", "минулий", "минулої", "минулу", "минула",
        "zeszły", "zeszłego", "zeszłą", "zeszła", "ostatni", "ostatniego", "ostatnią",
        "ostatnia", "poprzedni", "poprzedniego", "poprzednią",
    ),
    "next": (
        "nästa", "neste", "næste", "next", "kommande", "kommende", "coming",
        "ዝመጽእ", "ዝመፅእ", "ዝቕጽል",
        "наступного", "наступний", "наступної", "наступну", "наступна",
        "następny", "następnego", "następną", "następna", "przyszły", "przyszłego",
        "przyszłą", "przyszła",
    ),
    # Polish "w" and Ukrainian "в"/"у" (on): "w poniedziałek i we wtorek".
    "mark": ("på", "on", "this", "denna", "denne", "w", "в", "у"),
    "filler": ("den", "d", "the", "of", "يوم", "maalinta", "ዕለት", "روز"),
}
# Short markers that are ordinary words elsewhere ("do" in English, "i" in Swedish): read
# only from someone whose own language they belong to.
_OWN_ONLY: dict[str, frozenset[str]] = {"pl": frozenset({"do", "i", "od", "w"})}
# Arabic and Persian mark a weekday as past or coming after it: "الاثنين الماضي",
# "دوشنبه گذشته", "دوشنبه‌ی آینده".
_ARABIC_AFTER = {
    fold(word): mode
    for word, mode in {
        "الماضي": -1, "الماضية": -1, "القادم": 1, "القادمة": 1, "الجاي": 1,
        "گذشته": -1, "پیش": -1, "قبلی": -1, "آینده": 1, "بعدی": 1,
    }.items()
}

# Weekday abbreviations that are also everyday words ("man" = one, "søn" = son, "fri" =
# free, "Tor" a name, Somali "Isn" as in "isn't", Polish "sob.", "śr.", "wt.", "pt." as
# "sob", "Sr.", "wt", "pt"); they count only in a range, after a marker, or as the whole
# message.
_WEAK_WEEKDAYS = frozenset(
    {"man", "son", "sun", "sat", "fri", "tor", "احد", "isn", "sob", "sr", "wt", "pt"}
)
_STRONG_SPELLINGS = frozenset({"mån", "sön"})

_EXTRA_WEEKDAYS = {
    "en": {"tues": 1, "thur": 3, "thurs": 3, "weds": 2},
    # Somali: with the article ("Isniinta", the coming Monday) and other spellings.
    "so": {
        "isniinta": 0, "isnin": 0, "talaadada": 1, "salaasa": 1, "salaaso": 1, "arbaca": 2,
        "arbacada": 2, "khamiista": 3, "kamiis": 3, "jimce": 4, "jimca": 4, "jimcaha": 4,
        "sabtida": 5, "axadda": 6,
    },
    # Ukrainian: accusative ("в середу", "по п'ятницю") and genitive ("до середи").
    "uk": {
        "середу": 2, "пʼятницю": 4, "суботу": 5, "неділю": 6, "понеділка": 0, "вівторка": 1,
        "середи": 2, "четверга": 3, "пʼятниці": 4, "суботи": 5, "неділі": 6,
    },
    # Polish: accusative ("w środę") and genitive ("do piątku"). Not CLDR's short "pią",
    # which folds to the name Pia.
    "pl": {
        "środę": 2, "sobotę": 5, "niedzielę": 6, "poniedziałku": 0, "wtorku": 1, "środy": 2,
        "czwartku": 3, "piątku": 4, "soboty": 5, "niedzieli": 6,
    },
}
# Somali marks a past day with the article "-tii": "Isniintii" is last Monday.
_PAST_WEEKDAYS = {
    fold(word): index
    for word, index in {
        "isniintii": 0, "talaadadii": 1, "arbacadii": 2, "khamiistii": 3, "jimcihii": 4,
        "jimcahii": 4, "sabtidii": 5, "axaddii": 6,
    }.items()
}
_EXTRA_MONTHS = {"en": {"sept": 9}}
# Dari (Afghan Persian) has Gregorian month names of its own: "نومبر" for "نوامبر".
_VARIANTS = {"fa": ("fa_AF",)}
# Month names that are everyday words next to a number: Dari "می" (May) is the Persian verb
# prefix ("ساعت ۱۰ می رود", goes at 10).
_NOT_MONTHS = frozenset({fold("می")})
# Languages that write the day number before the month name only ("24 listopada"), so that
# a month name followed by a number is no date there: "Maja 10-12" is a girl's hours, not
# 10–12 May ("maja").
_DAY_FIRST = frozenset({"fa", "uk", "pl"})
# Tigrinya glues "on" and "for" to the next word: "ብሰኑይ" (on Monday), "ንጽባሕ" (for tomorrow).
_GLUED_MARKS = frozenset({"ብ", "ን"})

# Weeks. "förra veckan" / "forrige uke" / "last week" shift a weekday to that week ("Monday
# last week"), or name all of it; "hela veckan" / "resten af ugen" / "the rest of the week" /
# "this week" run from the first day meant to the week's end; "nästa vecka" is all of next
# week.
_WEEK_WORDS = frozenset(fold(word) for word in (
    "vecka", "veckan", "veckas", "uke", "uka", "uken", "uge", "ugen", "week", "weeks",
    "الأسبوع", "الاسبوع", "اسبوع", "أسبوع", "toddobaad", "toddobaadka", "toddobaadkan",
    "toddobaadkii", "ሰሙን", "هفته", "هفتهٔ", "тиждень", "тижня", "тижні", "tydzień",
    "tygodnia", "tygodniu",
))
_WHOLE_WORDS = frozenset(fold(word) for word in (
    "hela", "hele", "resten", "rest", "remainder", "all", "whole", "entire", "this", "denna",
    "denne", "detta", "här", "her", "kuli", "dhan", "ምሉእ", "تمام", "کل", "همین", "این",
    "весь", "всю", "цього", "цей", "кінця", "cały", "całym", "końca", "tym", "طوال", "كل",
    "هذا", "بقية",
))
# Somali glues "this" to the week: "toddobaadkan" (this week).
_THIS_WEEK = frozenset({fold("toddobaadkan")})
# Words that may stand between a "whole" word and the week: "resten av veckan", "the rest
# of the week", "den här veckan", "do końca tygodnia".
_WEEK_GLUE = frozenset(fold(word) for word in (
    "av", "af", "of", "the", "den", "det", "i", "this", "denna", "denne", "här", "her",
    "до", "do", "w", "в", "هذا", "oo", "dhan",
))
_WEEK_LAST = frozenset(fold(word) for word in (
    "förra", "forra", "forrige", "sidste", "last", "previous", "past", "الماضي", "الماضية",
    "ዝሓለፈ", "گذشته", "پیش", "минулого", "минулий", "минулому", "zeszły",
    "zeszłym", "zeszłego", "poprzednim", "ubiegłym", "ubiegły", "przeszłym",
))
_WEEK_NEXT = frozenset(fold(word) for word in (
    "nästa", "nasta", "neste", "næste", "next", "coming", "kommande", "kommende", "القادم",
    "الجاي", "القادمة", "soo socda", "socda", "ዝመጽእ", "آینده", "بعد", "наступного",
    "наступний", "наступному", "przyszły", "przyszłym", "następny", "następnym",
))

_HARAKAT_RE = re.compile(r"[\u064b-\u065f\u0670\u0640]")
_PUNCT_MAP = str.maketrans(
    {
        "–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "‑": "-", "،": ",", "፣": ",",
        "፡": " ",  # the Ethiopic word space
        "&": " and ", "+": " and ",
        "\u200c": None,  # the zero-width non-joiner inside Persian words: "سه‌شنبه"
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    }
)
_REWRITES = (
    (re.compile(r"\bt\.\s?o\.\s?m\b\.?"), " till och med "),
    (re.compile(r"\bfr?\.\s?o\.\s?m\b\.?"), " från och med "),
    # Ordinals: "24:e", "1:a", "24th", "2nd".
    (re.compile(r"([0-9]):[ea]\b"), r"\1"),
    (re.compile(r"([0-9])(?:st|nd|rd|th)\b"), r"\1"),
    # The apostrophe inside a Ukrainian word: "п'ятниця", "п’ятниця" as "пʼятниця".
    (re.compile(r"(?<=[\u0400-\u04ff])['\u2019`](?=[\u0400-\u04ff])"), ""),
    # Persian weekdays written apart: "سه شنبه" for "سه‌شنبه" (Tuesday).
    (re.compile(r"\b(یک|يك|یك|يک|دو|سه|چهار|پنج)\s+(?=شنبه\b)"), r"\1"),
)
# Persian weekdays by number: "۵شنبه" (Thursday) for "پنجشنبه".
_PERSIAN_NUMBERED_RE = re.compile(r"(?<![0-9])([1-5])(?=شنبه)")
_PERSIAN_NUMBERS = {"1": "یک", "2": "دو", "3": "سه", "4": "چهار", "5": "پنج"}
_TOKEN_RE = re.compile(
    r"(?P<chain>\+?[0-9][0-9./:\-]*)|(?P<word>[^\W\d_]+)|(?P<dash>-)|(?P<punct>[^\s\w])"
)

_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DMY_RE = re.compile(r"([0-9]{1,2})([./])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_DMY_DASH_RE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_DM_SLASH_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_DM_DOT_RE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})")
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_INT_RE = re.compile(r"([0-9]{1,2})\.?")
_YEAR_RE = re.compile(r"[0-9]{4}")

# A bare "N-M" is a time range only for school hours, so "25-30" or a menu "1-2" is not.
_BARE_HOURS = range(6, 19)


def _order(language: str) -> tuple[str, ...]:
    base = language.replace("-", "_").split("_")[0].lower()
    base = "nb" if base in ("no", "nn") else base
    if base not in LANGUAGES:
        return LANGUAGES
    return (base, *(other for other in LANGUAGES if other != base))


def _babel_names(names: Mapping[int, str]) -> Iterator[tuple[str, int]]:
    for index, name in names.items():
        yield fold(name.rstrip(".")), index


@dataclass(frozen=True)
class _Tables:
    weekdays: dict[str, int]
    past_weekdays: dict[str, int]  # "måndags" as in "i måndags"
    months: dict[str, int]
    phrases: dict[tuple[str, ...], tuple[str, int]]
    longest_phrase: int
    leading_words: frozenset[str]  # words that may follow an Arabic "و" (and)
    day_first_months: frozenset[str]  # month names read only after the day: "24 listopada"


def _tables(language: str) -> _Tables:
    return _tables_for(_order(language))


@lru_cache(maxsize=16)
def _tables_for(order: tuple[str, ...]) -> _Tables:
    """Word tables for the languages in `order`; where two differ, the first one's wins."""
    weekdays: dict[str, int] = {}
    past_weekdays: dict[str, int] = {}
    months: dict[str, int] = {}
    name_first: set[str] = set()  # month names that some language writes before the day
    for lang in order:
        _add_babel_names(lang, weekdays, months, name_first)
        _add_own_names(lang, weekdays, past_weekdays, months)
    phrases = _phrases(order)
    leading = frozenset(
        [*weekdays, *months, *(phrase[0] for phrase in phrases if phrase[0] != "و")]
    )
    return _Tables(
        weekdays, past_weekdays, months, phrases, max(map(len, phrases)), leading,
        frozenset(months.keys() - name_first),
    )


def _add_babel_names(lang: str, weekdays: dict[str, int], months: dict[str, int],
                     name_first: set[str]) -> None:
    """Add the language's weekday and month names as Babel (CLDR) spells them."""
    # Arabic abbreviations equal the full names; its short forms drop the article.
    widths = ("wide", "abbreviated", "short") if lang == "ar" else ("wide", "abbreviated")
    for locale in map(Locale.parse, (lang, *_VARIANTS.get(lang, ()))):
        for context in ("format", "stand-alone"):
            for width in widths:
                for name, index in _babel_names(locale.days[context][width]):
                    weekdays.setdefault(name, index)
            for width in ("wide", "abbreviated"):
                for name, index in _babel_names(locale.months[context][width]):
                    if name not in _NOT_MONTHS:
                        months.setdefault(name, index)
                        if lang not in _DAY_FIRST:
                            name_first.add(name)


def _add_own_names(lang: str, weekdays: dict[str, int], past_weekdays: dict[str, int],
                   months: dict[str, int]) -> None:
    """Add the spellings Babel lacks: our own lists and the inflected weekdays."""
    locale = Locale.parse(lang)
    for name, index in _EXTRA_WEEKDAYS.get(lang, {}).items():
        weekdays.setdefault(fold(name), index)
    for name, index in _EXTRA_MONTHS.get(lang, {}).items():
        months.setdefault(fold(name), index)
    if lang in ("sv", "nb", "da"):
        for name, index in _babel_names(locale.days["format"]["wide"]):
            weekdays.setdefault(name + "en", index)  # "måndagen", "mandagen"
            past_weekdays.setdefault(name + "s", index)  # "i måndags", "i mandags"
    if lang == "fa":
        for name, index in _babel_names(locale.days["format"]["wide"]):
            weekdays.setdefault(name + fold("ی"), index)  # "دوشنبه‌ی گذشته"


def _phrases(order: tuple[str, ...]) -> dict[tuple[str, ...], tuple[str, int]]:
    """The relative days ("i morgon") and markers ("från", "till") of the languages in
    `order`, as folded word tuples; a marker only another language uses is left out."""
    phrases: dict[tuple[str, ...], tuple[str, int]] = {}
    for lang in order:
        for phrase, offset in _RELATIVE[lang].items():
            phrases.setdefault(tuple(fold(word) for word in phrase.split()), ("day", offset))
    others_only = {word for lang, own in _OWN_ONLY.items() if lang != order[0] for word in own}
    for kind, spellings in _MARKERS.items():
        for phrase in spellings:
            if phrase not in others_only:
                phrases.setdefault(tuple(fold(word) for word in phrase.split()), (kind, 0))
    return phrases


@dataclass(frozen=True)
class _Token:
    kind: str  # "chain" (digits and separators), "word", "dash" or "punct"
    text: str  # lowercase as typed
    key: str  # folded, for words
    glued: bool  # no space before it


def _tokens(text: str, tables: _Tables) -> list[_Token]:
    text = unicodedata.normalize("NFC", text).lower().translate(_PUNCT_MAP)
    text = _HARAKAT_RE.sub("", text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _PERSIAN_NUMBERED_RE.sub(lambda match: _PERSIAN_NUMBERS[match[1]], text)
    tokens: list[_Token] = []
    end = 0
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "punct"
        raw = match.group()
        glued = match.start() == end and match.start() > 0
        end = match.end()
        if kind == "word":
            key = fold(raw)
            # Arabic writes "and" as a prefix: "اليوم وغدا" is "today and tomorrow"; Tigrinya
            # "on" and "for", which are left out: "ብሰኑይ" is "on Monday".
            if (
                len(key) > 2
                and (key[0] == "و" or key[0] in _GLUED_MARKS)
                and key not in tables.leading_words
                and key[1:] in tables.leading_words
            ):
                if key[0] == "و":
                    tokens.append(_Token("word", "و", "و", glued))
                raw, key, glued = raw[1:], key[1:], True
            if len(key) > 1 and key.endswith("ን") and key[:-1] in tables.leading_words:
                # Tigrinya "and" after each word joined: "ሎሚን ጽባሕን" (today and tomorrow).
                tokens.append(_Token("word", raw[:-1], key[:-1], glued))
                tokens.append(_Token("word", "ን", "ን", True))
                continue
            tokens.append(_Token("word", raw, key, glued))
        else:
            tokens.append(_Token(kind, raw, raw, glued))
    return tokens


@dataclass(frozen=True)
class _Day:
    """A day as written: relative to today, a weekday, or a date (with or without year)."""

    offset: int | None = None
    weekday: int | None = None
    mode: int = 0  # weekdays: 0 today or next, -1 strictly before today, 1 strictly after
    day: int = 0
    month: int = 0
    year: int | None = None


@dataclass
class _Item:
    kind: str  # day, amb, time, int, num, kl, to, until, and, comma, from, between, other
    day: _Day | None = None
    a: int = 0  # int value; hour of a time; first part of "a.b"
    b: int = 0  # minutes of a time; second part of "a.b"
    minutes_ok: bool = False  # "a.b" has two digits after the dot, so it may be a time
    weak: bool = False
    marked: bool = False


_NUMERIC = frozenset({"amb", "time", "int", "num"})


def _mkdate(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _single_chain(written: str) -> _Item | None:
    """The item of one number, date or time written without spaces; "24.11." may end in a dot."""
    core = written.rstrip(".")
    if match := _ISO_RE.fullmatch(core):
        year, month, day = map(int, match.groups())
        return _Item("day", _Day(day=day, month=month, year=year))
    if match := _DMY_RE.fullmatch(core):
        return _Item(
            "day",
            _Day(day=int(match[1]), month=int(match[3]), year=_year(match[4])),
        )
    if match := _DMY_DASH_RE.fullmatch(core):
        day, month, year = map(int, match.groups())
        return _Item("day", _Day(day=day, month=month, year=year))
    if match := _DM_SLASH_RE.fullmatch(core):
        return _Item("day", _Day(day=int(match[1]), month=int(match[2])))
    if match := _DM_DOT_RE.fullmatch(core):
        if len(match[0]) == 3 and core == written:
            return _Item("num")  # a decimal such as "1.5" (timmar); "1.5." is a date
        return _Item("amb", a=int(match[1]), b=int(match[2]), minutes_ok=len(match[2]) == 2)
    if match := _TIME_RE.fullmatch(core):
        return _Item("time", a=int(match[1]), b=int(match[2]))
    if match := _INT_RE.fullmatch(core):
        return _Item("int", a=int(match[1]))
    return None


def _chain_items(chain: str) -> list[_Item]:
    """Items of a run of digits and separators written without spaces: "24-26/11"."""
    if chain.startswith("+"):
        return [_Item("num")]  # an international phone number
    trailing_dash = chain.endswith("-")
    core = chain.rstrip("-")
    items: list[_Item] | None = None
    if single := _single_chain(core):
        items = [single]
    elif _YEAR_RE.fullmatch(core.rstrip(".")):
        items = [_Item("num")]
    else:
        for position, char in enumerate(core):
            if char != "-":
                continue
            left = _single_chain(core[:position])
            right = _single_chain(core[position + 1 :])
            if left is not None and right is not None:
                items = [left, _Item("to"), right]
                break
    if items is None:
        return [_Item("num")]
    return [*items, _Item("to")] if trailing_dash else items


def _items(tokens: list[_Token], tables: _Tables) -> list[_Item]:
    """Pass one: tokens to items, reading multi-word phrases and "24 nov" as one day."""
    items: list[_Item] = []
    marked = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.kind in ("dash", "punct"):
            symbol = _symbol_item(token, tokens[index - 2] if index >= 2 else None)
            if symbol is not None:
                items.append(symbol)
        elif token.kind == "chain":
            items.extend(_chain_items(token.text))
            marked = False
        else:
            index, marked = _word_items(tokens, index, tables, items, marked)
    return _drop_weekdays_before_dates(items)


def _symbol_item(token: _Token, previous: _Token | None) -> _Item | None:
    """A dash or a punctuation mark as an item; None for an abbreviation's dot."""
    if token.kind == "dash":
        return _Item("to")
    if token.text == "." and token.glued and previous and previous.kind == "word":
        return None  # abbreviation dot: "mån.", "kl.", "d."
    if token.text == ",":
        return _Item("comma")
    return _Item("and" if token.text in ("&", "+") else "other")


def _word_items(tokens: list[_Token], index: int, tables: _Tables, items: list[_Item],
                marked: bool) -> tuple[int, bool]:
    """The word at tokens[index - 1] (or a week or phrase it starts) to items: the index after
    what was read, and whether a word that marks the next day ("på") stands before it."""
    token = tokens[index - 1]
    week = _week(tokens, index - 1)
    if week is not None:
        items.append(_Item("week", a=week[0]))
        return week[1], False
    following = tokens[index].key if index < len(tokens) else None
    if token.key == "i" and following is not None and following in tables.past_weekdays:
        # "i måndags" before the phrases, where a lone "i" is Polish "and".
        items.append(_Item("day", _Day(weekday=tables.past_weekdays[following], mode=-1)))
        return index + 1, False
    found = _phrase_at(tokens, index - 1, tables)
    if found is None:
        return _plain_word(tokens, index, tables, items, marked), False
    (kind, value), index = found
    if kind == "mark":
        return index, True
    if kind == "filler":
        return index, marked
    return _phrase_item(kind, value, tokens, index, tables, items), False


def _phrase_at(tokens: list[_Token], start: int,
               tables: _Tables) -> tuple[tuple[str, int], int] | None:
    """The longest phrase of words starting at tokens[start], with the index after it."""
    for size in range(min(tables.longest_phrase, len(tokens) - start), 0, -1):
        window = tokens[start : start + size]
        if all(part.kind == "word" for part in window):
            hit = tables.phrases.get(tuple(part.key for part in window))
            if hit is not None:
                return hit, start + size
    return None


def _phrase_item(kind: str, value: int, tokens: list[_Token], index: int, tables: _Tables,
                 items: list[_Item]) -> int:
    """A phrase read ("i morgon", "förra", "från") to items; the index after what was read
    (a weekday after "förra"/"nästa" is read with it)."""
    if kind == "day":
        items.append(_Item("day", _Day(offset=value)))
    elif kind in ("past", "next"):
        following = tokens[index] if index < len(tokens) else None
        weekday = tables.weekdays.get(following.key) if following else None
        if weekday is None:
            items.append(_Item("other"))
        else:
            mode = -1 if kind == "past" else 1
            items.append(_Item("day", _Day(weekday=weekday, mode=mode)))
            index += 1
    else:
        items.append(_Item(kind))
    return index


def _plain_word(tokens: list[_Token], index: int, tables: _Tables, items: list[_Item],
                marked: bool) -> int:
    """A single word at tokens[index - 1] (a weekday, a month, anything else) to items; the
    index after what was read (a month reads its day, a weekday an Arabic "after")."""
    token = tokens[index - 1]
    key = token.key
    if key in _PAST_WEEKDAYS:
        items.append(_Item("day", _Day(weekday=_PAST_WEEKDAYS[key], mode=-1)))
    elif key in tables.past_weekdays and key not in tables.weekdays:
        # "i torsdags och fredags": the second day without its "i"
        items.append(_Item("day", _Day(weekday=tables.past_weekdays[key], mode=-1)))
    elif key in tables.months:
        name_first = key not in tables.day_first_months
        index = _month(items, tokens, index, tables.months[key], name_first)
    elif key in tables.weekdays:
        mode = 0
        if index < len(tokens) and tokens[index].key in _ARABIC_AFTER:
            mode = _ARABIC_AFTER[tokens[index].key]
            index += 1
        weak = key in _WEAK_WEEKDAYS and token.text not in _STRONG_SPELLINGS and mode == 0
        items.append(_Item("day", _Day(weekday=tables.weekdays[key], mode=mode),
                           weak=weak, marked=marked))
    else:
        items.append(_Item("other"))
    return index


def _week(tokens: list[_Token], start: int) -> tuple[int, int] | None:
    """A week named at tokens[start]: (-1 last, 0 this or the rest of it, 1 next) and the
    index after it; None if no week is named there.

    "hela veckan", "resten af ugen", "the rest of the week", "denna vecka" (0); "förra
    veckan", "last week", "الأسبوع الماضي" (-1); "nästa vecka", "next week" (1).
    """
    key = tokens[start].key
    following = tokens[start + 1] if start + 1 < len(tokens) else None
    if key in _THIS_WEEK:
        return 0, start + 1
    if key in _WEEK_WORDS:  # the week first, then which: "الأسبوع الماضي", "ሰሙን ዝሓለፈ"
        return _which_week_after(following, start)
    if key not in _WHOLE_WORDS and key not in _WEEK_LAST and key not in _WEEK_NEXT:
        return None
    offset: int | None = None
    whole = False
    position = start
    while position < len(tokens) and position - start < 5 and tokens[position].kind == "word":
        word = tokens[position].key
        if word in _WEEK_WORDS or word in _THIS_WEEK:
            if offset is None and not whole:
                return None
            return offset or 0, position + 1
        if word in _WEEK_LAST:
            offset = -1
        elif word in _WEEK_NEXT:
            offset = 1
        elif word in _WHOLE_WORDS:
            whole = True
        elif word not in _WEEK_GLUE:
            return None
        position += 1
    return None


def _which_week_after(following: _Token | None, start: int) -> tuple[int, int] | None:
    """After a week word at tokens[start]: last (-1) or next (1) week, and the index after."""
    if following is not None and following.key in _WEEK_LAST:
        return -1, start + 2
    if following is not None and following.key in _WEEK_NEXT:
        return 1, start + 2
    return None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _shift_to_week(items: list[_Item], offset: int, today: date) -> None:
    """Weekdays in a text that names another week are days of that week ("Monday last
    week", "onsdag nästa vecka")."""
    monday = _monday(today) + timedelta(weeks=offset)
    for position, item in enumerate(items):
        day = item.day
        if item.kind == "day" and day is not None and day.weekday is not None:
            found = monday + timedelta(days=day.weekday)
            items[position] = _Item("day", _Day(day=found.day, month=found.month,
                                                year=found.year))


def _as_past(items: list[_Item]) -> None:
    """In a past-tense text a weekday is the latest such day before today ("was off sick on
    Friday")."""
    for position, item in enumerate(items):
        day = item.day
        if item.kind == "day" and day is not None and day.weekday is not None and day.mode == 0:
            items[position] = _Item("day", replace(day, mode=-1), weak=item.weak,
                                    marked=item.marked)


def _month(
    items: list[_Item], tokens: list[_Token], index: int, month: int, name_first: bool = True
) -> int:
    """Read a month name at tokens[index - 1] with its day number; return the next index.

    The day may follow the name ("Nov 24") only when `name_first`.
    """
    count = len(tokens)
    day: int | None = None
    if items and items[-1].kind == "int" and 1 <= items[-1].a <= 31:
        day = items.pop().a  # "24 nov", "24. november"
    elif name_first and index < count and tokens[index].kind == "chain":
        following = _chain_items(tokens[index].text)
        if len(following) == 1 and following[0].kind == "int":
            day = following[0].a  # "Nov 24"
            index += 1
        elif [item.kind for item in following] == ["int", "to", "int"]:
            # "Nov 24-26": a range within the month.
            items.extend([_Item("int", a=following[0].a), _Item("to")])
            day = following[2].a
            index += 1
    if day is None:
        items.append(_Item("other"))
        return index
    year: int | None = None
    after = index + 1 if index < count and tokens[index].text == "," else index
    written = tokens[after].text.rstrip(".") if after < count else ""
    if after < count and tokens[after].kind == "chain" and _YEAR_RE.fullmatch(written):
        year = int(written)
        index = after + 1
    items.append(_Item("day", _Day(day=day, month=month, year=year)))
    return index


def _date_like(item: _Item) -> _Day | None:
    """The date `item` stands for, if it is written as one ("24/11", "24.11", "måndag")."""
    if item.kind == "day":
        return item.day
    if item.kind == "amb" and 1 <= item.a <= 31 and 1 <= item.b <= 12:
        return _Day(day=item.a, month=item.b)
    return None


def _drop_weekdays_before_dates(items: list[_Item]) -> list[_Item]:
    """ "fredag 27/11" and "Mon, Nov 24" name one day: the date, not the next such weekday."""
    kept: list[_Item] = []
    for position, item in enumerate(items):
        if item.kind == "day" and item.day is not None and item.day.weekday is not None:
            following = items[position + 1 : position + 3]
            if following and following[0].kind == "comma":
                following = following[1:]
            nxt = _date_like(following[0]) if following else None
            if nxt is not None and nxt.month:
                continue
        kept.append(item)
    return kept


def _nearest(day: _Day, today: date) -> date | None:
    candidates = [
        found
        for year in (today.year - 1, today.year, today.year + 1)
        if (found := _mkdate(year, day.month, day.day)) is not None
    ]
    # Equally near dates: the coming one, since most absences are announced ahead.
    return min(candidates, key=lambda found: (abs((found - today).days), found < today),
               default=None)


def _start(day: _Day, today: date) -> date | None:
    """The date of `day` written on its own (or as the first day of a range)."""
    if day.offset is not None:
        return today + timedelta(days=day.offset)
    if day.weekday is not None:
        if day.mode < 0:
            return today - timedelta(days=(today.weekday() - day.weekday - 1) % 7 + 1)
        if day.mode > 0:
            return today + timedelta(days=(day.weekday - today.weekday() - 1) % 7 + 1)
        return today + timedelta(days=(day.weekday - today.weekday()) % 7)
    if day.year is not None:
        return _mkdate(day.year, day.month, day.day)
    return _nearest(day, today)


def _end(day: _Day, first: date, today: date) -> date | None:
    """The date of `day` as the last day of a range starting on `first`."""
    if day.weekday is not None:
        return first + timedelta(days=(day.weekday - first.weekday()) % 7)
    if day.offset is not None or day.year is not None:
        return _start(day, today)
    # "30/12-2/1" runs into the next year.
    year = first.year + 1 if day.month < first.month else first.year
    return _mkdate(year, day.month, day.day)


class _Bad:
    """A day or time expression that is there but wrong: "31/11", "fre-ons", "kl 12-10"."""


_BAD = _Bad()
_Days = tuple[date, date] | _Bad
_Times = tuple[time, time] | _Bad


def _span(first: date | None, last: date | None) -> _Days:
    if first is None or last is None or last < first:
        return _BAD
    return first, last


@dataclass
class _Scan:
    items: list[_Item]
    today: date
    sole_word: bool
    start: date
    days: _Days | None = None
    times: _Times | None = None
    others: list[_Days] = field(default_factory=list)  # day expressions after the first


def _joiner(item: _Item, marker: str | None) -> str | None:
    if item.kind in ("to", "until"):
        return "to"
    if item.kind == "and":
        return "to" if marker == "between" else "and"
    if item.kind == "comma":
        return "and"
    return None


def _day_range(scan: _Scan, start: int, marker: str | None) -> tuple[_Days, int] | None:
    """A range of days at items[start]: "mån-ons", "24-26/11", "idag och imorgon"."""
    items, today = scan.items, scan.today
    if start + 2 >= len(items):
        return None
    head, tail = items[start], items[start + 2]
    join = _joiner(items[start + 1], marker)
    if join is None:
        return None
    head_day, tail_day = _date_like(head), _date_like(tail)
    if head_day is None:
        if head.kind != "int" or tail_day is None or not tail_day.month or join != "to":
            return None
        # "24-26/11", "24 - 26 nov": the first day takes the last day's month and year.
        last = _start(tail_day, today)
        first = _mkdate(last.year, last.month, head.a) if last else None
        return _span(first, last), start + 3
    if tail_day is None:
        if tail.kind != "int" or not head_day.month or join != "to":
            return None
        first = _start(head_day, today)  # "24/11 - 26"
        last = _mkdate(first.year, first.month, tail.a) if first else None
        return _span(first, last), start + 3
    first = _start(head_day, today)
    last = _end(tail_day, first, today) if first else None
    if join == "to":
        return _span(first, last), start + 3
    # Days joined by "and" form a range only when they follow each other: "idag och imorgon".
    if first is None or last is None or last != first + _ONE_DAY:
        return None
    position = start + 3
    while position + 1 < len(items) and items[position].kind in ("and", "comma"):
        more = _date_like(items[position + 1])
        if more is None or _end(more, last, today) != last + _ONE_DAY:
            break
        last += _ONE_DAY
        position += 2
    return (first, last), position


def _clock(item: _Item, clock_marked: bool) -> tuple[int, int, bool] | None:
    """(hour, minute, surely a time) if `item` can be a time of day."""
    if item.kind == "time":
        return (item.a, item.b, True) if item.a <= 23 and item.b <= 59 else None
    if item.kind == "amb" and item.minutes_ok and item.a <= 23 and item.b <= 59:
        return item.a, item.b, True
    if item.kind == "int" and item.a <= 23:
        return item.a, 0, clock_marked
    return None


def _time_range(scan: _Scan, start: int, marker: str | None) -> tuple[_Times, int] | None:
    """A range of times at items[start]: "08:15-10:00", "8.15-10", "kl 10-12", "10-12"."""
    items = scan.items
    clock_marked = marker == "kl"
    if start + 2 >= len(items):
        return None
    join = _joiner(items[start + 1], marker)
    if join != "to":
        return None
    tail_index = start + 2
    if items[tail_index].kind == "kl" and tail_index + 1 < len(items):
        clock_marked = True
        tail_index += 1
    head = _clock(items[start], clock_marked)
    tail = _clock(items[tail_index], clock_marked)
    if head is None or tail is None:
        return None
    if not (head[2] or tail[2]):
        # Bare "N-M": school hours only, and not part of a longer number ("08-12 34 56").
        before = items[start - 1] if start > 0 and marker is None else None
        after = items[tail_index + 1] if tail_index + 1 < len(items) else None
        if not (head[0] in _BARE_HOURS and tail[0] in _BARE_HOURS and head[0] < tail[0]):
            return None
        if (before and before.kind in _NUMERIC) or (after and after.kind in _NUMERIC):
            return None
    begin, end = time(head[0], head[1]), time(tail[0], tail[1])
    return ((begin, end) if begin < end else _BAD), tail_index + 1


def _single_day(scan: _Scan, start: int, marker: str | None) -> tuple[_Days, int] | None:
    """One day at items[start]: "idag", "fredag", "i måndags", "24/11", "24 nov"."""
    item = scan.items[start]
    day = _date_like(item)
    if day is None:
        return None
    if item.weak and not (item.marked or marker in ("from", "until") or scan.sole_word):
        return None
    found = _start(day, scan.today)
    if marker == "until":
        # "t.o.m. fredag": from the first day meant (today, or the next school day once
        # today's is over); an end before it leaves the start unknown.
        return _span(scan.start if found and found >= scan.start else None, found), start + 1
    return _span(found, found), start + 1


def _found_days(scan: _Scan, days: _Days) -> None:
    if scan.days is None:
        scan.days = days
    elif days != scan.days:
        scan.others.append(days)


def _scan(scan: _Scan) -> None:
    """Pass two: the first day expression and the first time range, left to right."""
    items = scan.items
    position = 0
    while position < len(items):
        kind = items[position].kind
        marker = kind if kind in ("from", "between", "until", "kl") else None
        start = position + 1 if marker else position
        if start >= len(items):
            break
        if marker != "kl":
            days = _day_range(scan, start, marker)
            if days is not None:
                _found_days(scan, days[0])
                position = days[1]
                continue
        times = _time_range(scan, start, marker)
        if times is not None:
            scan.times = scan.times or times[0]
            position = times[1]
            continue
        if marker != "kl":
            day = _single_day(scan, start, marker)
            if day is not None:
                _found_days(scan, day[0])
                position = day[1]
                continue
        position += 1


def parse_days(
    text: str, language: str, today: date, *, start: date | None = None, past: bool = False,
    strict: bool = False,
) -> DaySpan | None:
    """The days (or part of a day) that `text` names, relative to `today`; None if none.

    The day expression can stand anywhere in the message ("Ali sjuk idag", "Noor sick
    Mon-Wed", "Tandläkare 10-12"). Weekday names mean the next such day on or after today
    unless marked as past ("i måndags", "forrige mandag", "last Monday") or the text is in the
    past tense (`past`: "was off sick on Friday"), then the latest such day before today;
    "Monday last week", "onsdag nästa vecka" are days of that week. Dates are day first and,
    without a year, the nearest such date to today. `start` is the first day meant when the
    text names none (default today): a time range alone ("10-12") is on it, and "until
    Friday", "hela veckan", "resten af ugen", "the rest of the week" run from it; "nästa
    vecka", "next week" alone are all of that week. The first expression wins (with
    `strict`, two that differ give None: "sjuk idag, kommer imorgon"); a wrong one
    (31/11, a range ending before it starts, a time range over several days) gives None,
    and so does a lone number such as a menu answer.
    """
    first_day = start or today
    tables = _tables(language)
    tokens = _tokens(text, tables)
    if not tokens:
        return None
    sole_word = sum(1 for token in tokens if token.kind == "word") == 1 and len(
        [token for token in tokens if token.kind != "punct"]
    ) == 1
    items = _items(tokens, tables)
    weeks = [item.a for item in items if item.kind == "week"]
    items = [item for item in items if item.kind != "week"]
    shifted = next((week for week in weeks if week != 0), None)
    if shifted is not None:
        _shift_to_week(items, shifted, today)
    elif past:
        _as_past(items)
    scan = _Scan(items, today, sole_word, first_day)
    _scan(scan)
    days, times = scan.days, scan.times
    if isinstance(days, _Bad) or isinstance(times, _Bad) or (strict and scan.others):
        return None
    if days is None and weeks and times is None:
        if shifted is not None:
            monday = _monday(today) + timedelta(weeks=shifted)
            return DaySpan(monday, monday + timedelta(days=6))
        return DaySpan(first_day, _monday(first_day) + timedelta(days=6))
    if days is not None and 0 in weeks and days[0] == days[1] and times is None:
        return DaySpan(days[0], _monday(days[0]) + timedelta(days=6))  # "från onsdag hela veckan"
    if times is None:
        return DaySpan(days[0], days[1]) if days is not None else None
    first, last = days if days is not None else (first_day, first_day)
    if first != last:
        return None
    return DaySpan(first, first, times[0], times[1])
