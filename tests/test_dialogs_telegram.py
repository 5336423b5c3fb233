"""Guardians report absence in a Telegram chat: in-process transcripts (tests/transcript.py),
checked in the db. Linking by the real Bot API, webhooks, restarts and blocked chats are in
tests/test_telegram_report.py.

Telegram is the only phone channel here, as in a bot without SMS. The clock stands on
Monday 23 November 2026, 08:00 in Stockholm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_day
from storage.models import Absence, AbsenceReport, OutboxMessage, Person, StaffTask
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE, ROSTER, import_roster
from tests.transcript import House, TelegramChat

REFERENCE = re.compile(r"R-[A-Z0-9]{5}")


@pytest.fixture
def bot(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[House]:
    """The transcript roster; Telegram only."""
    import_roster(tmp_path)
    with House.open(channels=("telegram",)) as house:
        yield house


def reports(bot: House) -> list[AbsenceReport]:
    """Every stored report, oldest first."""
    with Session(bot.engine) as session:
        return list(session.exec(select(AbsenceReport).order_by(col(AbsenceReport.id))))


def absences(bot: House) -> list[Absence]:
    """Every stored absence record."""
    with Session(bot.engine) as session:
        return list(session.exec(select(Absence).order_by(col(Absence.day), col(Absence.slot))))


@pytest.mark.parametrize("language", ["sv", "nb", "da", "en"])
def test_link_and_report_sick_today(bot: House, language: str) -> None:
    """/start, share the number, write "sick today": recorded at once, the receipt with an
    Undo button; stored as reported."""
    name, phone = GUARDIANS[language]
    sick_today = {"sv": "Sjuk idag", "nb": "syk i dag", "da": "syg i dag", "en": "sick today"}
    t = gettext_for
    chat = bot.telegram(language=language)
    welcome = chat.say("/start")
    assert welcome.request_contact
    assert welcome.text == t(language, (
        "Welcome to Närvaro, the school's absence service. To begin, share your phone "
        "number with the button below so we can find you in the school's list."))
    linked = chat.share_contact(phone.removeprefix("+"))  # Telegram drops the +
    assert linked.text.startswith(
        t(language, "Thank you! This chat is now linked to your phone number."))
    assert t(language, "Report absence") in linked.buttons
    receipt = chat.say(sick_today[language])
    reference = REFERENCE.search(receipt.text)
    assert reference is not None
    child = next(r.split(",")[3] for r in ROSTER.splitlines() if name in r).split()[0]
    assert receipt.text == t(
        language, "Recorded: {name} absent {days}, {reason}. Ref. {ref}.",
        name=child, days=format_day(date(2026, 11, 23), language).rstrip("."),
        reason=t(language, "Sick").lower(), ref=reference.group(),
    ) + "\n" + t(language, "Wrong? Undo by {time}.", time="16:00")
    assert receipt.buttons[:2] == [t(language, "Undo"), t(language, "Add a note")]
    with Session(bot.engine) as session:
        guardian = session.exec(select(Person).where(Person.name == name)).one()
        assert guardian.telegram_chat_id == chat.chat_id
    [report] = reports(bot)
    assert (report.reference, report.reporter_id, report.reason) == (
        reference.group(), guardian.id, "sick")
    assert (report.first_day, report.last_day, report.on_time) == (
        date(2026, 11, 23), date(2026, 11, 23), True)
    [absence] = absences(bot)
    assert (absence.day, absence.slot, absence.state) == (date(2026, 11, 23), "day",
                                                          "reported")


def test_second_child_with_a_range_a_note_and_part_of_a_day(bot: House) -> None:
    """Two children: pick one, type a range, tap a reason: recorded; a note added after the
    receipt; then hours for the other, in one message."""
    chat = bot.telegram(language="sv")
    chat.link("+46701234501")
    who = chat.tap("Rapportera frånvaro")
    assert who.text == "Vem är frånvarande?"
    assert who.buttons == ["Ali", "Sara", "Alla"]
    days = chat.tap("Sara")
    assert "Sara" in days.text and "Idag" in days.buttons
    reason = chat.say("24.11–26.11")
    assert reason.buttons == ["Sjuk", "Läkar- eller tandläkarbesök", "Familjeskäl",
                              "Annan anledning"]
    receipt = chat.tap("Familjeskäl")
    assert receipt.text.startswith(
        "Registrerat: Sara frånvarande tis 24 nov. – tors 26 nov, familjeskäl.")
    assert REFERENCE.search(receipt.text)
    note = chat.tap("Lägg till en anteckning")
    assert note.text.startswith("Skriv anteckningen till skolan")
    kept = chat.say("Begravning i Umeå")
    assert kept.text == "Tack, anteckningen sparas med anmälan."
    # and the other child, part of today, all in one message
    chat.tap("Rapportera frånvaro")
    receipt = chat.say("Ali tandläkare 08:15-10:00")
    assert "08:15–10:00" in receipt.text and receipt.text.startswith("Registrerat: Ali")
    family, dentist = reports(bot)
    assert (family.first_day, family.last_day, family.reason, family.note) == (
        date(2026, 11, 24), date(2026, 11, 26), "family", "Begravning i Umeå")
    assert (dentist.reason, dentist.part_start, dentist.part_end) == (
        "medical", time(8, 15), time(10, 0))
    assert [(a.day.day, a.slot) for a in absences(bot)] == [
        (23, "08:15"), (24, "day"), (25, "day"), (26, "day")]


def test_a_late_report_is_kept_and_the_mentor_is_prompted(bot: House) -> None:
    """Last Monday is past its Thursday deadline: kept, not excused; the mentor gets a task."""
    mentor = bot.telegram(language="sv")
    mentor.link(MENTOR_PHONE)
    chat = bot.telegram(language="en")
    chat.link("+447911123456")
    chat.tap("Report absence")
    reason = chat.say("16/11")
    assert reason.text == "What is the reason?"
    receipt = chat.tap("Sick")
    assert "past the three-school-day limit" in receipt.text
    assert "mentor has been told" in receipt.text
    prompt = mentor.reply()
    assert prompt.text.startswith("Sen frånvaroanmälan: Adam Smith (7A)")
    assert "Sjuk" not in prompt.text  # the mentor is not told the reason here
    done = mentor.tap("Klar")
    assert done.text.startswith("Markerad som klar")
    [report] = reports(bot)
    assert (report.on_time, report.late_days) == (False, ["2026-11-16"])
    assert absences(bot) == []  # nothing is excused by a late report
    with Session(bot.engine) as session:
        [task] = session.exec(select(StaffTask)).all()
    assert (task.kind, task.status) == ("late_report", "done")


def test_a_stranger_learns_nothing(bot: House) -> None:
    """A number not in the roster gets the same polite refusal; nothing is linked."""
    stranger = bot.telegram(language="sv")
    stranger.say("Hej, Ali är sjuk")
    refusal = stranger.share_contact("+46709999999")
    assert "Ali" not in refusal.text and "Hassan" not in refusal.text
    assert refusal.text.startswith("Tyvärr kan den här chatten inte kopplas")
    # Writing on gets no second welcome within the hour (a chat that writes a hundred
    # times gets one answer).
    for number in range(20):
        stranger.write(f"Ali Hassan sjuk idag {number}")
    assert stranger.unread() == []
    again = stranger.share_contact("+46709999998")
    assert again.text.startswith("Tyvärr kan den här chatten inte kopplas")
    assert len(stranger.messages()) == 3  # welcome, refusal, refusal
    with Session(bot.engine) as session:
        assert session.exec(select(Person).where(
            col(Person.telegram_chat_id).is_not(None))).all() == []
        kept = [(m.dedupe_key, m.address) for m in session.exec(select(OutboxMessage))]
    assert reports(bot) == []
    # What was sent to the stranger is kept without their chat's id (the welcome's and the
    # refusals' keys are keyed digests; the address goes once sent).
    assert len(kept) == 3
    assert not [key for key, address in kept if str(stranger.chat_id) in f"{key} {address}"]


def test_a_forwarded_contact_is_refused(bot: House) -> None:
    """Someone else's contact card, even with a roster number, does not link the chat."""
    chat = bot.telegram(language="sv")
    chat.say("/start")
    refused = chat.share_contact("+46701234501", user_id=424242)
    assert refused.text == "Dela ditt eget telefonnummer med knappen nedan."
    assert refused.request_contact
    assert bot.person("+46701234501").telegram_chat_id is None


def test_cancel_a_report_and_the_mentor_hears_of_today(bot: House) -> None:
    """Cancelling today's report puts the absence back and tells the mentor."""
    mentor = bot.telegram(language="sv")
    mentor.link(MENTOR_PHONE)
    chat = bot.telegram(language="sv")
    chat.link("+46701234502")
    chat.say("sjuk idag")
    listing = chat.say("/reports")
    assert listing.text.startswith("Frånvaroanmälningar för de kommande dagarna:")
    [cancel_button] = [b for b in listing.buttons if b.startswith("Avboka")]
    question = chat.tap(cancel_button)
    assert question.buttons == ["Ja, avboka den", "Nej, behåll den"]
    cancelled = chat.tap("Ja, avboka den")
    assert cancelled.text.startswith("Anmälan R-")
    told = mentor.reply()
    assert told.text.startswith("Ali Hassan (7A):")
    assert "sjuk" not in told.text.lower()
    [report] = reports(bot)
    assert report.cancelled_at is not None
    [absence] = absences(bot)
    assert absence.state == "withdrawn"


def alis_guardians(bot: House) -> tuple[TelegramChat, TelegramChat]:
    """Lena and Omar, Ali's guardians, each in a Telegram chat linked to their number."""
    chats = (bot.telegram(language="sv"), bot.telegram(language="sv"))
    for chat, phone in zip(chats, ("+46701234501", "+46701234502"), strict=True):
        chat.link(phone)
    return chats


def test_the_other_guardian_sees_the_report_but_not_its_reason(bot: House) -> None:
    """Lena reports Ali sick; Omar's /reports lists the report without the reason (health
    data, hers to give); Lena's own list shows it."""
    lena, omar = alis_guardians(bot)
    receipt = lena.say("Ali sjuk imorgon")
    reference = REFERENCE.search(receipt.text)
    assert reference is not None, receipt.text
    [omars_line] = [line for line in omar.say("/reports").text.splitlines()
                    if reference.group() in line]
    assert omars_line.startswith(f"• {reference.group()} · Ali · ")
    assert omars_line.endswith(" · anmäld av någon annan")
    assert "sjuk" not in omars_line.lower()
    [lenas_line] = [line for line in lena.say("/reports").text.splitlines()
                    if reference.group() in line]
    assert lenas_line.endswith(" · Sjuk")


def test_both_guardians_report_the_same_day(bot: House) -> None:
    """The second report of the same day merges: one absence, no message to the first guardian."""
    lena, omar = alis_guardians(bot)
    first = lena.say("Ali sjuk idag")
    second = omar.say("sjuk idag")
    assert "redan anmäld" in second.text
    reference = REFERENCE.search(first.text)
    assert reference is not None and reference.group() in second.text
    assert lena.unread() == []
    assert len(reports(bot)) == 1
    assert len(absences(bot)) == 1


def test_a_second_guardians_different_report_reaches_the_mentor(bot: House) -> None:
    """Lena reports Ali sick tomorrow; Omar writes the dentist 8–10, then school. The first
    report stands; Omar hears his was not taken as written and the school will ask; Anna,
    the mentor, hears that the two differ (his hours, never a reason). A second report that
    agrees ("sjuk imorgon" again) tells nobody."""
    mentor = bot.telegram(language="sv")
    mentor.link(MENTOR_PHONE)
    lena, omar = alis_guardians(bot)
    first = lena.say("Ali sjuk imorgon")
    reference = REFERENCE.search(first.text)
    assert reference is not None, first.text
    agrees = omar.say("Ali är sjuk imorgon")
    assert agrees.text.endswith("Du behöver inte göra något mer.")
    assert mentor.unread() == []
    differs = omar.say("Ali är hos tandläkaren imorgon 8-10, sen kommer han")
    assert differs.text == (f"Alis frånvaro tis 24 nov. är redan anmäld (referens "
                            f"{reference.group()}), men inte som du skrev. Skolan har fått veta "
                            "det och hör av sig till dig.")
    [told] = mentor.unread()
    assert told.text == (f"Omar Hassan anmälde också Ali Hassan (7A): tis 24 nov. 08:00–10:00. "
                         f"Det skiljer sig från anmälan {reference.group()}, som kom först och "
                         "gäller: stäm av med vårdnadshavarna.")
    assert [(r.part_start, r.reason) for r in reports(bot)] == [(None, "sick")]


def test_two_days_apart_are_explained_not_guessed(bot: House) -> None:
    """"Ali är hemma imorgon och fredag": a report is one day or days in a row, so the days
    are asked with why; the answer "imorgon och fredag" gets the same why, not "did not
    understand"; "imorgon" and the reason then record Tuesday alone."""
    lena, _omar = alis_guardians(bot)
    why = ("En anmälan gäller en dag, eller dagar i följd (”imorgon”, ”mån–ons”). Skriv den "
           "första här; anmäl den andra dagen efteråt.")
    asked = lena.say("Ali är hemma imorgon och fredag")
    assert asked.text.startswith(why + "\n\n"), asked.text
    again = lena.say("imorgon och fredag")
    assert again.text.startswith(why + "\n\n"), again.text
    assert lena.say("imorgon").text.startswith("Vad är anledningen?")
    assert lena.say("sjuk").text.startswith("Registrerat: Ali frånvarande tis 24 nov, sjuk.")
    [report] = reports(bot)
    assert (report.first_day, report.last_day) == (date(2026, 11, 24), date(2026, 11, 24))


def test_days_that_are_not_school_days_and_too_far_ahead(bot: House) -> None:
    """A Saturday is pointed out, not stored; more than 30 days ahead is refused kindly."""
    chat = bot.telegram(language="en")
    chat.link("+447911123456")
    chat.tap("Report absence")
    saturday = chat.say("28/11")
    assert "is not a school day" in saturday.text
    far = chat.say("15/1")
    assert "at most 30 days ahead" in far.text
    nonsense = chat.say("whenever")
    assert nonsense.text.startswith("Sorry, I did not understand that date.")
    cancelled = chat.say("cancel")
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert reports(bot) == [] and absences(bot) == []


def test_an_earlier_day_is_offered_back_to_the_deadline(bot: House) -> None:
    """"An earlier day" lists the three school days that can still be reported on time."""
    chat = bot.telegram(language="en")
    chat.link("+447911123456")
    chat.tap("Report absence")
    earlier = chat.tap("An earlier day")
    assert earlier.buttons == ["Fri, Nov 20", "Thu, Nov 19", "Wed, Nov 18"]
    chat.tap("Wed, Nov 18")
    receipt = chat.tap("Other reason")
    assert "past the three-school-day limit" not in receipt.text
    [report] = reports(bot)
    assert (report.first_day, report.on_time, report.reason) == (
        date(2026, 11, 18), True, "other")
