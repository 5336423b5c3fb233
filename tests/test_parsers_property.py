"""Property tests: the parsers of guardians' texts never raise and answer within their domains.

Any text can arrive (a phone's autocorrect, emoji, Arabic mixed with Swedish, pasted junk),
and a parser that raises loses the message. Hypothesis generates both arbitrary Unicode and
texts built from the words the parsers look for, so that their rarer paths run too.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.freetext import (
    match_child,
)
from policy.sms import ELLIPSIS, HELP, START, STOP, fit, keyword, segments, to_sms

# No example database: it would be written into the repository.
PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

_DAY_WORDS = [
    "idag", "i dag", "imorgon", "i morgon", "imorn", "igår", "i går", "i förrgår", "i morse",
    "i övermorgon", "måndag", "mån", "tisdag", "tis", "onsdag", "ons", "torsdag", "tors",
    "fredag", "fre", "lördag", "söndag", "sön", "man", "søn", "tor", "fri", "sat", "sun",
    "i måndags", "i fredags", "mandag", "tirsdag", "onsdag", "lørdag", "søndag", "i morra",
    "i overmorgen", "i forgårs", "forrige mandag", "neste fredag", "næste tirsdag", "sidste",
    "today", "tomorrow", "tmrw", "yesterday", "day after tomorrow", "Mon", "Tue", "Tues",
    "Wed", "Thurs", "Fri", "next Friday", "last Monday", "this", "coming", "previous",
    "jan", "januari", "feb", "mars", "maj", "juni", "juli", "aug", "sept", "okt", "nov",
    "november", "dec", "desember", "december", "اليوم", "غدا", "غداً", "بكرة", "أمس",
    "بعد غد", "الاثنين", "الاثنين الماضي", "الخميس القادم", "الأحد", "يوم", "نوفمبر",
]
_JOINERS = [
    "-", "–", "—", "till", "til", "to", "t.o.m.", "tom", "fr.o.m.", "fom", "until", "through",
    "och", "og", "and", "&", "+", ",", "från", "fra", "from", "mellan", "mellom", "between",
    "kl", "kl.", "klockan", "klokka", "klokken", "الساعة", "den", "d.", "the", "of", "på",
    "on", "و", "من", "إلى", "الى", "حتى", "بين", "i",
]
_NAMES = ["Ali", "Noor", "Björn", "Bjorn", "Anna-Karin", "Anna", "Åsa", "Søren", "نور", "A."]
_PUNCTUATION = [*".,!?؟،:;()\"'“”«»/…", "...", "!!", "?!"]
_EMOJI = ["🤒", "😷", "👍", "❤️", "👨‍👩‍👧", "🙏🏽", "🇸🇪"]
_RTL = [
    "مريض", "ابني مريض اليوم", "بنتي تعبانة", "\u200f", "\u200e", "\u2067", "\u2069",
    "٢٤/١١", "٣", "ـ", "\u064b", "إيقاف", "مساعدة",
]
_OTHER_WORDS = [
    "sjuk", "syk", "syg", "sick", "läkare", "tandläkaren", "lege", "ja", "nej", "nei", "ok",
    "inte", "avbryt", "cancel", "/cancel", "stop", "STOPP", "hjälp", "24:e", "1st", "2nd",
]

_NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=100).map(str),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.from_regex(r"\+?[0-9]{1,4}([./:\-][0-9]{0,4}){0,3}\.?-?", fullmatch=True),
    st.tuples(st.integers(0, 30), st.integers(0, 70)).map(lambda hm: f"{hm[0]}:{hm[1]:02d}"),
    st.tuples(st.integers(0, 30), st.integers(0, 70)).map(lambda hm: f"{hm[0]}.{hm[1]:02d}"),
)
_DATES = st.tuples(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(
        ["%d/%m", "%d.%m", "%d.%m.", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m-%Y", "%d-%m-%Y",
         "%d %b", "%d %B %Y", "%b %d"]
    ),
).map(lambda pair: pair[0].strftime(pair[1]))
_TOKENS = st.one_of(
    st.sampled_from(_DAY_WORDS),
    st.sampled_from(_JOINERS),
    st.sampled_from(_NAMES),
    st.sampled_from(_PUNCTUATION),
    st.sampled_from(_EMOJI),
    st.sampled_from(_RTL),
    st.sampled_from(_OTHER_WORDS),
    _NUMBERS,
    _DATES,
    st.text(max_size=4),
)
MESSAGES = st.lists(
    st.tuples(_TOKENS, st.sampled_from(["", " ", " ", " ", "  ", "\n", "-", "/", ", "])),
    max_size=12,
).map(lambda parts: "".join(token + separator for token, separator in parts))
"""Texts like guardians' messages, from words the parsers know and anything else."""

TEXTS = st.one_of(st.text(), MESSAGES)
TODAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
NAMES = st.lists(st.one_of(st.sampled_from([*_NAMES, "Ali Hassan", "Ali Berg"]), st.text()),
                 max_size=5)


@PROPERTY
@given(text=TEXTS, names=NAMES, by_name_only=st.booleans())
def test_match_child_is_an_index_or_none(
    text: str, names: list[str], by_name_only: bool
) -> None:
    found = match_child(text, names, by_name_only=by_name_only)
    assert found is None or 0 <= found < len(names)


@PROPERTY
@given(text=TEXTS, max_segments=st.integers(min_value=1, max_value=5))
def test_fit_respects_the_segment_budget(text: str, max_segments: int) -> None:
    shortened = fit(text, max_segments)
    assert segments(shortened) <= max_segments
    if shortened != to_sms(text):
        assert shortened.endswith(ELLIPSIS)
        assert to_sms(text).startswith(shortened.removesuffix(ELLIPSIS))


@PROPERTY
@given(text=TEXTS)
def test_keyword_is_a_keyword_or_none(text: str) -> None:
    assert keyword(text) in (STOP, START, HELP, None)


@PROPERTY
@given(text=TEXTS)
def test_to_sms_is_idempotent(text: str) -> None:
    once = to_sms(text)
    assert to_sms(once) == once
    assert unicodedata.is_normalized("NFC", once)


# Bugs the properties above found in policy/freetext.py, kept as their smallest examples.


def test_match_child_a_digit_that_is_not_a_number() -> None:
    assert match_child("᧚", ["Ali"]) is None


def test_match_child_a_name_of_a_lone_combining_mark() -> None:
    assert match_child("A", ["\u0301"]) is None
