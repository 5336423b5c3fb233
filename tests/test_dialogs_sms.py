"""Guardians report absence by plain SMS: in-process transcripts (tests/transcript.py), each
text rendered by the SMS channel's own `render`. Signed webhooks, Twilio's statuses and the
real twilio client are in tests/test_sms_report.py.

The clock stands on Monday 23 November 2026, 08:00 in Stockholm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from handlers.menu import MAX_LABEL, menu_choices
from locales import LANGUAGES
from policy.sms import is_gsm7, segments
from storage.db import session_scope
from storage.models import AbsenceReport, OutboxMessage, Person, Student
from storage.outbox import MessageKind, enqueue
from storage.people import roles_of
from tests.telegram_harness import MENTOR_PHONE, import_roster
from tests.transcript import House

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")


def reports(bot: House) -> list[AbsenceReport]:
    """Every stored report."""
    with Session(bot.engine) as session:
        return list(session.exec(select(AbsenceReport).order_by(col(AbsenceReport.id))))


@pytest.mark.parametrize(
    ("language", "number", "text", "days", "reason"),
    [
        ("sv", "+46701234502", "Ali sjuk idag", (23, 23), "sick"),
        ("nb", "+4741234503", "Noor er syk i morgen", (24, 24), "sick"),
        ("da", "+4520123404", "Emil syg", (23, 23), "sick"),
        ("en", "+447911123456", "Adam sick Mon-Wed", (23, 25), "sick"),
    ],
)
def test_a_free_text_report_in_four_languages(
    house: House, language: str, number: str, text: str, days: tuple[int, int], reason: str,
) -> None:
    """One text that says who and why (a day, or none: today at 08:00 on a school day) is
    recorded at once: the receipt names the child, the days and the reason, gives a
    reference and the undo word, in one segment, and nothing asks to tap."""
    undo = {"sv": "Svara ÅNGRA senast 16:00.", "nb": "Svar ANGRE innen 16:00.",
            "da": "Svar FORTRYD senest 16:00.", "en": "Reply UNDO by 16:00."}[language]
    receipt = house.sms(number).say(text)
    assert REFERENCE.search(receipt), receipt
    assert receipt.endswith(undo), receipt
    assert segments(receipt) == 1 and is_gsm7(receipt)
    assert not re.search(r"(?i)tryck|trykk|tryk|\btap", receipt)
    [report] = reports(house)
    assert (report.first_day, report.last_day, report.reason, report.channel) == (
        date(2026, 11, days[0]), date(2026, 11, days[1]), reason, "sms")


def test_an_ambiguous_text_gets_a_numbered_question(house: House) -> None:
    """Two children and no name: "Svara 1 för Ali, 2 för Sara, 3 för Alla."; "2" picks Sara
    and records: no confirmation step."""
    lena = house.sms("+46701234501")
    question = lena.say("sjuk idag")
    assert question == "Vem är frånvarande?\nSvara 1 för Ali, 2 för Sara, 3 för Alla."
    receipt = lena.say("2")
    assert receipt.startswith("Registrerat: Sara frånvarande mån 23 nov, sjuk.")
    [report] = reports(house)
    with Session(house.engine) as session:
        sara = session.exec(select(Student).join(Person, col(Person.id) == Student.person_id)
                            .where(Person.name == "Sara Hassan")).one()
    assert (report.student_id, report.first_day) == (sara.id, date(2026, 11, 23))


def test_both_children_in_one_text_and_undo_by_word(house: House) -> None:
    """"Båda barnen är sjuka idag" records both children in one receipt; "ångra" takes both
    back (until the school day ends), and the mentor hears that they are expected."""
    lena = house.sms("+46701234501")
    receipt = lena.say("Båda barnen är sjuka idag")
    assert receipt.startswith("Registrerat: Ali och Sara frånvarande mån 23 nov, sjuk.")
    assert len(REFERENCE.findall(receipt)) == 2
    undone = lena.say("ångra")
    assert undone == "Ångrat: inget är registrerat för Ali och Sara mån 23 nov."
    told = house.sms(MENTOR_PHONE).reply()
    assert "väntas till skolan" in told.text
    assert lena.say("ÅNGRA") == "Det finns inget att ångra."
    assert [report.cancelled_at is not None for report in reports(house)] == [True, True]


def test_undo_by_word_takes_back_only_the_latest_message(house: House) -> None:
    """Two reports in two texts: "ångra" takes back the second; another "ångra" finds
    nothing to undo and leaves the first as it was (it never reaches back)."""
    lena = house.sms("+46701234501")
    first = lena.say("Ali sjuk idag")
    second = lena.say("Sara är hos tandläkaren i morgon")
    assert first.startswith("Registrerat: Ali") and second.startswith("Registrerat: Sara")
    assert lena.say("ångra").startswith("Ångrat: inget är registrerat för Sara tis 24 nov")
    assert lena.say("ÅNGRA") == "Det finns inget att ångra."
    assert [report.cancelled_at is not None for report in reports(house)] == [False, True]


def test_a_menu_entry_written_out_is_as_good_as_the_tap(house: House) -> None:
    """"mina anmälningar", as the menu's *My reports* reads, lists the reports."""
    lena = house.sms("+46701234501")
    lena.say("Ali sjuk i morgon")
    listing = lena.say("Mina anmälningar")
    assert listing.startswith("Frånvaroanmälningar för de kommande dagarna:\n- R-")
    assert " - Ali - tis 24 nov. - Sjuk\nSvara 1 för Avboka R-" in listing
    # Every label, a guardian's and staff's, in every language, is one that can be known.
    people = [house.person(phone) for phone in ("+46701234501", MENTOR_PHONE)]
    with session_scope(house.engine) as session:
        roles = [roles_of(session, person) for person in people]
        labels = {choice.label for language in LANGUAGES for role in roles
                  for choice in menu_choices(language, role)}
    assert len(labels) > 50
    assert not [label for label in labels
                if len(label) > MAX_LABEL or any(char.isdigit() for char in label)]


def test_stop_is_respected_until_start(house: House) -> None:
    """STOPP: confirmed once, then a notice is not sent by SMS; START turns SMS back on."""
    omar = house.sms("+46701234502")
    confirmed = omar.say("STOPP")
    assert confirmed.startswith("Du får inga fler sms från Närvaro")
    with session_scope(house.engine) as session:
        person = session.exec(select(Person).where(Person.phone == omar.number)).one()
        assert person.sms_opted_out_at is not None
        enqueue(session, dedupe_key="notice:stop", kind=MessageKind.NOTICE,
                recipient_id=person.id, channel="auto",
                language="sv", text="Ali är inte i skolan.", now=house.now())
    house.send_due()
    [notice] = house.outbox(prefix="notice:stop")
    assert notice.status == "failed"
    assert omar.unread() == []
    assert omar.say("start").startswith("Sms från Närvaro är på igen")
    assert omar.say("HJÄLP").startswith("Frågor?")
    with Session(house.engine) as session:
        notice = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "notice:stop")).one()
    assert notice.status == "failed"


def test_cancel_mid_dialog_by_sms(house: House) -> None:
    """AVBRYT at a question: nothing is saved."""
    lena = house.sms("+46701234501")
    lena.say("sjuk idag")
    assert lena.say("AVBRYT") == "Avbrutet. Inget sparades."
    assert reports(house) == []


def test_hours_and_a_bare_word(house: House) -> None:
    """"Tandläkare 10-12" is a medical appointment this morning; a bare "sjuk" at 08:00 on a
    school day is today, and after the school day the next school day, said in the
    receipt."""
    omar = house.sms("+46701234502")
    receipt = omar.say("Tandläkare 10-12")
    assert "10:00-12:00" in receipt and "läkar- eller tandläkarbesök" in receipt
    receipt = omar.say("sjuk")
    assert receipt.startswith("Registrerat: Ali frånvarande mån 23 nov, sjuk.")
    medical, sick = reports(house)
    assert (medical.reason, str(medical.part_start), str(medical.part_end)) == (
        "medical", "10:00:00", "12:00:00")
    assert (sick.reason, sick.first_day) == ("sick", date(2026, 11, 23))


@pytest.fixture
def friday_evening(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[House]:
    """The transcript roster at 18:00 on Friday 27 November."""
    import_roster(tmp_path)
    with House.open(now="2026-11-27T18:00:00+01:00") as house:
        yield house


def test_after_the_school_day_a_bare_word_is_the_next_school_day(
    friday_evening: House,
) -> None:
    """At 18:00 on Friday "sjuk" is Monday, said in the receipt; the undo lasts until
    Monday's school day ends."""
    receipt = friday_evening.sms("+46701234502").say("sjuk")
    assert receipt.startswith("Registrerat: Ali frånvarande mån 30 nov, sjuk.")
    assert receipt.endswith("Svara ÅNGRA senast mån 30 nov 16:00.")
    [sick] = reports(friday_evening)
    assert sick.first_day == date(2026, 11, 30)


def test_a_number_answers_the_question_even_after_help(house: House) -> None:
    """HELP between a numbered question and its answer does not change what "2" means;
    digits from other scripts are numbers too, and "²" is just text."""
    lena = house.sms("+46701234501")
    question = lena.say("sjuk")
    assert "Svara 1 för Ali, 2 för Sara" in question
    assert lena.say("HJÄLP").startswith("Frågor?")
    receipt = lena.say("٢")  # Arabic-Indic two, after HELP: still Sara
    assert receipt.startswith("Registrerat: Sara")
    lena.say("²")
    [sick] = reports(house)
    assert (sick.reason, sick.first_day) == ("sick", date(2026, 11, 23))


def test_the_children_as_a_group_and_a_count_that_does_not_fit(house: House) -> None:
    """"Barnen är sjuka idag" names both of Lena's children as a group: both recorded; "the
    three children" does not fit a family of two: she is asked who, nothing recorded."""
    lena = house.sms("+46701234501")
    receipt = lena.say("Barnen är sjuka idag")
    assert receipt.startswith("Registrerat: Ali och Sara frånvarande mån 23 nov, sjuk.")
    assert lena.say("ångra") == "Ångrat: inget är registrerat för Ali och Sara mån 23 nov."
    asked = lena.say("De tre barnen är sjuka idag")
    assert asked == "Vem är frånvarande?\nSvara 1 för Ali, 2 för Sara, 3 för Alla."
    assert [report.cancelled_at is not None for report in reports(house)] == [True, True]


def test_another_familys_child_by_first_name_is_not_recorded(house: House) -> None:
    """Kari (Noor's mother) writes "Ali er syk i dag": Ali, capitalised, is another family's
    child, so nothing is recorded and she is told whose she can report; in lower case "ali"
    is not read as a name, and the report is Noor's."""
    kari = house.sms("+4741234503")
    assert kari.say("Ali er syk i dag") == (
        "Det navnet er ikke et av barna dine her (Noor), så ingenting ble registrert. "
        "Skriv navnet for å melde fravær for Noor.")
    assert reports(house) == []
    assert kari.say("ali er syk i dag").startswith("Registrert: Noor borte man. 23. nov, syk.")
