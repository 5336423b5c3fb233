"""Every shipped language in a Telegram chat: in-process transcripts (tests/transcript.py) of
a guardian reporting in their own words and changing language. The families and words are
tests/test_languages.py's.

Monday 23 November 2026, 08:00 in Stockholm; Telegram the only phone channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from locales import LANGUAGES, RIGHT_TO_LEFT, gettext_for
from locales.formats import format_day
from storage.models import AbsenceReport
from tests.telegram_harness import STAFF, import_roster
from tests.test_languages import FAMILIES, ROSTER, SICK_TODAY
from tests.transcript import House

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")


@pytest.fixture
def bot(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[House]:
    """One family per language, imported through the real command; Telegram only."""
    import_roster(tmp_path, roster=ROSTER, staff=STAFF)
    with House.open(channels=("telegram",)) as house:
        yield house


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_in_each_language(bot: House, language: str) -> None:
    """/start in the app's language, link, "X is sick today" in their own words: recorded
    at once, every answer in the guardian's language, the report stored."""
    _guardian, phone, child = FAMILIES[language]
    t = gettext_for
    chat = bot.telegram(language=language)
    welcome = chat.say("/start")
    assert welcome.text == t(language, (
        "Welcome to Närvaro, the school's absence service. To begin, share your phone "
        "number with the button below so we can find you in the school's list."))
    linked = chat.share_contact(phone)
    assert linked.text.startswith(
        t(language, "Thank you! This chat is now linked to your phone number."))
    receipt = chat.say(SICK_TODAY[language])
    reference = REFERENCE.search(receipt.text)
    assert reference is not None
    expected = t(
        language, "Recorded: {name} absent {days}, {reason}. Ref. {ref}.",
        name=child.split()[0], days=format_day(date(2026, 11, 23), language).rstrip("."),
        reason=t(language, "Sick").lower(), ref=reference.group())
    assert receipt.text.startswith(expected), receipt.text
    assert receipt.buttons[0] == t(language, "Undo")
    if language in RIGHT_TO_LEFT:  # the Latin reference keeps its order in the sentence
        assert f"\u2068{reference.group()}\u2069" in receipt.text
    with Session(bot.engine) as session:
        [report] = session.exec(select(AbsenceReport)).all()
    assert (report.reason, report.first_day) == ("sick", date(2026, 11, 23))


def test_changing_language_in_telegram(bot: House) -> None:
    """/language lists the languages by their own names; a tap switches, and the answer
    and everything after come in the new language."""
    _guardian, phone, _child = FAMILIES["sv"]
    chat = bot.telegram(language="sv")
    chat.link(phone)
    listing = chat.say("/language")
    assert listing.text == "Vilket språk vill du att jag skriver på?"
    assert {"Svenska", "Norsk bokmål", "Dansk", "English", "العربية", "Soomaali",
            "ትግርኛ", "فارسی", "Українська", "Polski"} <= set(listing.buttons)
    switched = chat.tap("Polski")
    assert switched.text == gettext_for(
        "pl", "From now on I will write to you in {language_name}.",
        language_name="Polski")
    helped = chat.say("/help")
    assert helped.text.startswith(gettext_for("pl", "Questions? Contact your school."))
    assert bot.person(phone).language == "pl"
