"""Every shipped language end to end: a guardian reports in their own words and hears back in
their language; anyone can change language; staff learn when an interpreter may be needed.

Monday 23 November 2026, 08:00 in Stockholm; Telegram through the fake Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from locales import LANGUAGES, RIGHT_TO_LEFT, gettext_for
from locales.formats import format_day, speaks
from storage.db import make_engine
from storage.models import AbsenceReport, Person
from tests.fakes.telegram_api import FakeTelegram
from tests.rosters import students
from tests.telegram_harness import STAFF, import_roster, running_bot

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")
#: One family per language; the child shares the guardian's language.
FAMILIES = {
    "sv": ("Lars Berg", "+46701230001", "Maja Berg"),
    "nb": ("Kari Dahl", "+4741230002", "Ola Dahl"),
    "da": ("Mette Holm", "+4520230003", "Emil Holm"),
    "en": ("John Smith", "+447911230004", "Adam Smith"),
    "ar": ("Mona Haddad", "+46701230005", "Omar Haddad"),
    "so": ("Hodan Warsame", "+46701230006", "Ayaan Warsame"),
    "ti": ("Selam Tesfay", "+46701230007", "Yonas Tesfay"),
    "fa": ("Maryam Ahmadi", "+46701230008", "Ali Ahmadi"),
    "uk": ("Olena Kovalenko", "+46701230009", "Taras Kovalenko"),
    "pl": ("Anna Nowak", "+46701230010", "Piotr Nowak"),
}
#: "(Child) is sick today", as a parent would text it.
SICK_TODAY = {
    "sv": "Maja är sjuk idag", "nb": "Ola er syk i dag", "da": "Emil er syg i dag",
    "en": "Adam is sick today", "ar": "عمر مريض اليوم", "so": "Ayaan waa buka maanta",
    "ti": "ዮናስ ሎሚ ሓሚሙ እዩ", "fa": "علی امروز مریض است", "uk": "Тарас сьогодні хворий",
    "pl": "Piotr jest dziś chory",
}
ROSTER = students(*(
    f"Norrskolan,7A,N{n:03d},{child},{language},,no,{guardian},{phone},{language},"
    "+46701112233"
    for n, (language, (guardian, phone, child)) in enumerate(FAMILIES.items(), start=1)
))


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """One family per language, imported through the real command."""
    import_roster(tmp_path, roster=ROSTER, staff=STAFF)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def plain(text: str) -> str:
    """The text without the direction isolates that right-to-left messages carry."""
    return text.replace("\u2068", "").replace("\u2069", "")


def test_every_language_has_a_family() -> None:
    """The transcript below covers every shipped language."""
    assert set(FAMILIES) == set(LANGUAGES) == set(SICK_TODAY)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_report_in_each_language(
    telegram: FakeTelegram, db: Engine, tmp_path: Path, language: str
) -> None:
    """/start in the app's language, link, "X is sick today" in their own words: recorded
    at once, every answer in the guardian's language, the report stored."""
    _guardian, phone, child = FAMILIES[language]
    t = gettext_for
    async with running_bot(telegram, tmp_path) as bot:
        chat = bot.chat(language=language)
        welcome = await chat.say("/start")
        assert welcome.text == t(language, (
            "Welcome to Närvaro, the school's absence service. To begin, share your phone "
            "number with the button below so we can find you in the school's list."))
        linked = await chat.share_contact(phone)
        assert linked.text.startswith(
            t(language, "Thank you! This chat is now linked to your phone number."))
        receipt = await chat.say(SICK_TODAY[language])
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
    with Session(db) as session:
        [report] = session.exec(select(AbsenceReport)).all()
        assert (report.reason, report.first_day) == ("sick", date(2026, 11, 23))


async def test_changing_language_in_telegram(
    telegram: FakeTelegram, db: Engine, tmp_path: Path
) -> None:
    """/language lists the languages by their own names; a tap switches, and the answer
    and everything after come in the new language."""
    _guardian, phone, _child = FAMILIES["sv"]
    async with running_bot(telegram, tmp_path) as bot:
        chat = bot.chat(language="sv")
        await chat.link(phone)
        listing = await chat.say("/language")
        assert listing.text == "Vilket språk vill du att jag skriver på?"
        assert {"Svenska", "Norsk bokmål", "Dansk", "English", "العربية", "Soomaali",
                "ትግርኛ", "فارسی", "Українська", "Polski"} <= set(listing.buttons)
        switched = await chat.tap("Polski")
        assert switched.text == gettext_for(
            "pl", "From now on I will write to you in {language_name}.",
            language_name="Polski")
        helped = await chat.say("/help")
        assert helped.text.startswith(gettext_for("pl", "Questions? Contact your school."))
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        assert person.language == "pl"


def test_the_word_for_language_by_text_and_the_interpreter_hint(db: Engine) -> None:
    """"SPRÅK" (as an SMS would say it) asks, the name of a language answers; a staff task
    about a Somali-speaking guardian says to book an interpreter, in the staff's language."""
    from datetime import datetime

    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from storage.db import session_scope

    now = datetime.fromisoformat("2026-11-23T08:00:00+01:00")
    with session_scope(db) as session:
        lars = session.exec(select(Person).where(Person.phone == FAMILIES["sv"][1])).one()
        [asked] = handle_incoming(session, Incoming(lars.id or 0, "webchat", "w1", "SPRÅK"),
                                  now=now)
        assert asked.text == "Vilket språk vill du att jag skriver på?"
        [done] = handle_incoming(session, Incoming(lars.id or 0, "webchat", "w2", "english"),
                                 now=now)
        assert done.text == "From now on I will write to you in English."
        assert lars.language == "en"
        # An open language question does not swallow a report: it simply ends.
        handle_incoming(session, Incoming(lars.id or 0, "webchat", "w3", "LANGUAGE"), now=now)
        [report] = handle_incoming(
            session, Incoming(lars.id or 0, "webchat", "w4", "Maja sjuk idag"), now=now)
        assert report.text.startswith("Recorded: Maja absent Mon, Nov 23, sick.")
    assert speaks("so", "sv") == " (somaliska: boka tolk vid behov)"
    assert speaks("nb", "sv") == ""  # Scandinavians understand each other
    assert plain(speaks("sv", "ar")).startswith(" (السويدية")
