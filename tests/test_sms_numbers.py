"""A bare number by SMS answers the last question texted: the typed choices stored on that
text (handlers/sms_inbox.py), in-process on a SQLite file (tests/transcript.py)."""

from __future__ import annotations

from sqlmodel import select

from storage.db import session_scope
from storage.models import Person
from storage.outbox import MessageKind, enqueue
from tests.transcript import House

LENA = "+46701234501"  # two children: Ali and Sara


def test_news_and_help_leave_the_question_open(house: House) -> None:
    lena = house.sms(LENA)
    assert lena.say("Ali borta idag").startswith("Vad är anledningen?")
    with session_scope(house.engine) as session:
        person = session.exec(select(Person).where(Person.phone == LENA)).one()
        enqueue(session, dedupe_key="news:1", kind=MessageKind.REPORT_NEWS,
                recipient_id=person.id, channel="sms",
                language="sv", text="Ingen fråga här.", now=house.now())
    house.send_due()
    assert lena.reply().text == "Ingen fråga här."
    assert lena.say("HJÄLP").startswith("Frågor?")
    assert lena.say("2").startswith("Registrerat: Ali frånvarande mån 23 nov, läkar- eller "
                                    "tandläkarbesök.")


def test_a_question_without_choices_closes_the_one_before(house: House) -> None:
    lena = house.sms(LENA)
    assert lena.say("sjuk idag").startswith("Vem är frånvarande?")
    assert lena.say("Ali kommer senare").startswith("Vilka tider är Ali borta?")
    # Not Ali from the question before: the words "1", which give no hours.
    assert lena.say("1").startswith("Förlåt, jag förstod inte det datumet.")
