"""Every shipped language end to end: a guardian reports in their own words and hears back in
their language; anyone can change language; staff learn when an interpreter may be needed.

Monday 23 November 2026, 08:00 in Stockholm; Telegram through the fake Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from locales import LANGUAGES
from locales.formats import speaks
from storage.db import make_engine
from storage.models import Person
from tests.rosters import students
from tests.telegram_harness import STAFF, import_roster

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
