"""Concerns raised by people, and the cause mapping by chat (seed 003: "the concern can come
from students, parents, a team or absence data"; seed 000's warning signals; seed 004's
"Årsakskartlegging").

Kim is the school's counsellor, not Noor's mentor; Anna is every student's mentor. Guardians
write in Swedish, Norwegian, Danish and English; Lena has two children (Ali and Sara);
Elin (8B) has her own phone.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from storage.models import (
    Absence,
    AuditLog,
    CauseMapping,
    Concern,
    ConcernNote,
    OutboxMessage,
    StaffTask,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE, Chat
from tests.test_absence_notices import both
from tests.test_return_plan_settings import KIM, LENA
from tests.test_return_plan_settings import db as db  # the roster with Elin, Anna, Kim
from tests.test_return_plans import ELIN, Shown, answer, say, tap, tick, to

MONDAY = "2026-11-23T{}+01:00"


def test_a_counsellor_raises_a_concern_and_the_mentor_gets_the_task(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kim taps two signals (one twice: off again), writes a note and sends: Anna gets a
    task with the signals and the note and one tap to say she calls; Kim is thanked and
    cannot close the concern; the audit says who and which signals, not the note."""
    asked = answer(db, KIM, "/concern Noor", MONDAY.format("10:00:00"))
    assert asked.text == ("Vad har du märkt hos Noor Berg (7A)? Välj det som stämmer "
                          "(flera går), skriv gärna en kort anteckning, och Skicka.")
    labels = [c["label"] for c in asked.choices or []]
    assert labels[:4] == ["Trötthet", "Vantrivsel", "Beteendeproblem", "Mobbning"]
    assert labels[-2:] == ["Skicka", "Avbryt"] and len(labels) == 16
    shown = answer(db, KIM, "", MONDAY.format("10:00:10"), "concern:signal:tiredness")
    assert (shown.choices or [])[0]["label"] == "✓ Trötthet"
    tap(db, KIM, shown, "Utanförskap", MONDAY.format("10:00:20"))
    shown = answer(db, KIM, "", MONDAY.format("10:00:30"), "concern:signal:low_mood")
    shown = answer(db, KIM, "", MONDAY.format("10:00:40"), "concern:signal:low_mood")
    assert "✓ Nedstämdhet" not in [c["label"] for c in shown.choices or []]
    noted = answer(db, KIM, "Sitter ensam på rasterna sedan lovet.", MONDAY.format("10:01:00"))
    assert noted.text.endswith("\nAnteckning: Sitter ensam på rasterna sedan lovet.")
    assert tap(db, KIM, noted, "Skicka", MONDAY.format("10:01:10")) == (
        "Tack. Anna Mentor (mentor) följer upp.")
    [told] = to(db, MENTOR_PHONE, "concern:")
    assert told.text == ("Kim Kurator är orolig för Noor Berg (7A): Trötthet, Utanförskap. "
                         "Prata med eleven och vårdnadshavarna.\n"
                         "Anteckning: Sitter ensam på rasterna sedan lovet.")
    assert tap(db, MENTOR_PHONE, told, "Jag ringer", MONDAY.format("10:30:00")) == (
        "Markerad som klar: Noor Berg (7A). Tack!")
    with Session(db) as session:
        concern = session.exec(select(Concern)).one()
        [note] = session.exec(select(ConcernNote)).all()
        assert (note.source, note.signals) == ("staff", ["tiredness", "exclusion"])
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "concern")).all()
        assert task.status == "done"
        audit = session.exec(select(AuditLog).where(AuditLog.action == "concern.note")).one()
        assert "rasterna" not in json.dumps(audit.detail)
    # Ljusnarsberg's warning-signal column: the mentor contacts the student, the home and
    # the student health team, with a weekly follow-up.
    tick(MONDAY.format("10:05:00"))
    with Session(db) as session:
        [talk] = session.exec(select(StaffTask).where(StaffTask.kind == "student_talk")).all()
        assert talk.dedupe_key.startswith(f"ladder:{concern.student_id}:s0:")
    assert say(db, KIM, "", MONDAY.format("10:40:00"), f"concern:close:{concern.student_id}") == (
        "Det här är för skolpersonal.")
    profile = say(db, MENTOR_PHONE, "/student Noor", MONDAY.format("11:00:00")).splitlines()
    assert ("• mån 23 nov. Kim Kurator: Trötthet, Utanförskap: Sitter ensam på rasterna sedan "
            "lovet.") in profile
    assert main(["tasks", "list", "--json"]) == 0
    assert sorted(t["kind"] for t in json.loads(capsys.readouterr().out.splitlines()[-1])) == [
        "concern", "student_talk"]


def test_nothing_chosen_sends_nothing_and_cancel_saves_nothing(db: Engine) -> None:
    """Send with nothing chosen asks again; Cancel ends it with nothing stored."""
    say(db, KIM, "/concern Elin", MONDAY.format("10:00:00"))
    again = say(db, KIM, "", MONDAY.format("10:00:10"), "concern:send")
    assert again.startswith("Vad har du märkt hos Elin Ek (8B)?")
    assert say(db, KIM, "", MONDAY.format("10:00:20"), "dlg:cancel") == (
        "Avbrutet. Inget sparades.")
    with Session(db) as session:
        assert session.exec(select(Concern)).all() == []


@pytest.mark.parametrize(("language", "words"), [
    ("sv", "Ali vill inte gå till skolan, han gråter varje morgon"),
    ("nb", "Noor nekter å gå på skolen"),
    ("da", "Emil nægter at gå i skole om morgenen"),
    ("en", "Adam refuses to go to school"),
    ("sv", "Ali blir mobbad, han vill inte gå dit mer"),
    ("nb", "Noor blir mobbet i friminuttene"),
    ("da", "Emil bliver mobbet og vil ikke derhen"),
    ("en", "Adam is being bullied"),
])
def test_a_guardians_words_reach_the_mentor_and_report_no_absence(
    db: Engine, language: str, words: str
) -> None:
    """"He refuses to go to school" or "he is bullied", in the guardian's language: a
    prompt to call with the guardian's words and number reaches the mentor; no absence is
    created."""
    name, phone = GUARDIANS[language]
    reply = say(db, phone, words, MONDAY.format("07:10:00"))
    assert "Anna Mentor" in reply
    [told] = to(db, MENTOR_PHONE, "concern:")
    assert told.text.startswith(f"{name}, vårdnadshavare till ")
    assert f"är orolig och ber dig ringa: {phone}." in told.text
    assert told.text.endswith(f"\nAnteckning: {words}")
    with Session(db) as session:
        assert session.exec(select(Absence)).all() == []
        [note] = session.exec(select(ConcernNote)).all()
        assert (note.source, note.note) == ("guardian", words)


def test_a_guardian_with_two_children_tells_from_the_menu(db: Engine) -> None:
    """Lena taps Something worries me, picks Sara and writes: Anna hears, with her words."""
    menu = answer(db, LENA, "hej", MONDAY.format("19:00:00"))
    which = answer(db, LENA, "", MONDAY.format("19:00:10"), next(
        c["key"] for c in menu.choices or [] if c["label"] == "Något oroar mig"))
    assert which.text == "Vilket barn gäller det?"
    asked = tap(db, LENA, which, "Sara", MONDAY.format("19:00:20"))
    assert asked == ("Berätta med några ord vad som oroar dig för Sara. Anna Mentor får ditt "
                     "meddelande och ringer dig.")
    thanked = say(db, LENA, "Hon har ont i magen varje söndag kväll", MONDAY.format("19:01:00"))
    assert thanked.startswith("Tack för att du berättar. Anna Mentor ringer dig snart.")
    [told] = to(db, MENTOR_PHONE, "concern:")
    assert told.text.startswith("Lena Hassan, vårdnadshavare till Sara Hassan (7A), är orolig")
    with Session(db) as session:
        assert session.exec(select(Absence)).all() == []


def test_the_mapping_answered_with_buttons(db: Engine) -> None:
    """Anna sends the mapping; Elin answers seven areas, one message each; Anna gets one
    summary, heaviest first. A stale or someone else's tap changes nothing."""
    assert say(db, MENTOR_PHONE, "/mapping Elin", MONDAY.format("12:00:00")) == (
        "Orsakskartläggningen är skickad till Elin Ek. Du får svaren när alla sju har kommit in.")
    [intro, first] = to(db, ELIN, "mapping:")
    assert intro.text.startswith("Vi vill förstå vad som gör skolan svår för dig")
    assert first.text == "1/7 Något i skolan känns svårt"
    assert [c["label"] for c in first.choices or []] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    assert say(db, MENTOR_PHONE, "", MONDAY.format("12:00:30"),
               (first.choices or [])[4]["key"]) == "Den frågan är inte längre öppen."
    shown: OutboxMessage | Shown = first
    for minute, label in enumerate(["25 %", "0 %", "0 %", "100 %", "50 %", "0 %", "75 %"]):
        reply = answer(db, ELIN, "", MONDAY.format(f"12:{minute + 1:02d}:00"), next(
            c["key"] for c in shown.choices or [] if c["label"] == label))
        shown = reply
    assert reply.text == "Tack! Det hjälper mycket. Anna Mentor går igenom det med dig."
    [summary] = to(db, MENTOR_PHONE, "mapping:")
    assert summary.text.splitlines() == [
        "Orsakskartläggning för Elin Ek (8B), besvarad av Elin Ek:",
        "■■■■ 100 % Svårt med tillhörighet och vänner",
        "■■■□ 75 % Problem hemma",
        "■■□□ 50 % Psykiska svårigheter",
        "■□□□ 25 % Något i skolan känns svårt",
        "□□□□ 0 % Ligger långt efter i skolarbetet",
        "□□□□ 0 % Väljer andra aktiviteter",
        "□□□□ 0 % Fysiska svårigheter eller sjukdom"]
    with Session(db) as session:
        mapping = session.exec(select(CauseMapping)).one()
        assert mapping.finished_at is not None and mapping.answers["belonging"] == 4


def test_the_mapping_of_a_child_without_a_phone_goes_to_the_guardians(db: Engine) -> None:
    """Noor has no phone of her own: Kari, her mother, gets the questions about her."""
    assert say(db, MENTOR_PHONE, "/mapping Noor", MONDAY.format("12:00:00")).startswith(
        "Orsakskartläggningen är skickad till Kari Berg.")
    [intro, _first] = to(db, GUARDIANS["nb"][1], "mapping:")
    assert intro.text.startswith("Skolen vil forstå hva som gjør skolen vanskelig for Noor")
    assert say(db, ELIN, "/mapping Noor", MONDAY.format("12:01:00")) == (
        "Det här är för skolpersonal.")


@pytest.mark.asyncio
async def test_the_mapping_by_telegram_buttons_and_the_summary_as_a_picture(
    db: Engine, telegram: FakeTelegram, twilio: FakeTwilio
) -> None:
    """Anna and Elin have linked Telegram: Anna sends the mapping from her chat, Elin taps
    her seven answers on the buttons, each bringing the next area; Anna gets one photo, a
    phone-wide PNG of the seven bars, with the summary as its caption."""
    async with both(telegram, twilio, NARVARO_CLOCK_START="2026-11-23T12:00:00+01:00"):
        anna = Chat(telegram, telegram.add_user(7100, "Anna", language_code="sv"), 7100)
        elin = Chat(telegram, telegram.add_user(7101, "Elin", language_code="sv"), 7101)
        await anna.link(MENTOR_PHONE)
        await elin.link(ELIN)
        sent = await anna.say("/mapping Elin")
        assert sent.text.startswith("Orsakskartläggningen är skickad till Elin Ek.")
        intro = await elin.reply()
        assert intro.text.startswith("Vi vill förstå vad som gör skolan svår för dig")
        question = await elin.reply()
        assert question.buttons == ["0 %", "25 %", "50 %", "75 %", "100 %"]
        for label in ["0 %", "100 %", "50 %", "25 %", "75 %", "0 %"]:
            question = await elin.tap(label)
        assert question.text == "7/7 Problem hemma"
        thanks = await elin.tap("75 %")
        assert thanks.text.startswith("Tack! Det hjälper mycket.")
        picture = await anna.reply()
    assert picture.photo is not None and picture.photo.startswith(b"\x89PNG")
    assert int.from_bytes(picture.photo[16:20], "big") == 1080
    assert picture.text.splitlines()[:2] == [
        "Orsakskartläggning för Elin Ek (8B), besvarad av Elin Ek:",
        "■■■■ 100 % Ligger långt efter i skolarbetet"]


def _worry(db: Engine, phone: str, child: str | None, words: str, at: str) -> None:
    """A guardian taps Something worries me (and the child) and writes `words`."""
    steps = iter(MONDAY.format(f"{at}:{second:02d}") for second in range(0, 60, 10))
    menu = answer(db, phone, "hej", next(steps))
    asked = answer(db, phone, "", next(steps), next(
        c["key"] for c in menu.choices or [] if c["label"] == "Något oroar mig"))
    if child is not None:
        asked = answer(db, phone, "", next(steps), next(
            c["key"] for c in asked.choices or [] if c["label"] == child))
    assert asked.text.startswith("Berätta med några ord vad som oroar dig")
    assert say(db, phone, words, next(steps)).startswith("Tack för att du berättar.")


def _map(db: Engine, phone: str, at: str) -> None:
    """The respondent answers the seven areas of the mapping sent to them."""
    [_intro, shown] = to(db, phone, "mapping:")
    question: OutboxMessage | Shown = shown
    for second in range(7):
        question = answer(db, phone, "", MONDAY.format(f"{at}:{second:02d}"),
                          (question.choices or [])[1]["key"])
    assert question.text.startswith("Tack! Det hjälper mycket.")


def test_forgetting_a_guardian_leaves_the_other_guardians_worry_and_mapping(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Omar and Lena each tell Anna a worry about Ali in the same short words and each
    answer a mapping of Ali: forgetting Omar blanks his words and drops his mapping's
    summary; Lena's message and summary about the same child stay as they were."""
    omar = GUARDIANS["sv"][1]
    _worry(db, omar, None, "Trött", "19:00")
    _worry(db, LENA, "Ali", "Trött", "19:05")
    assert say(db, MENTOR_PHONE, "/mapping Ali", MONDAY.format("19:10:00")).startswith(
        "Orsakskartläggningen är skickad till ")
    _map(db, omar, "19:11")
    _map(db, LENA, "19:12")
    summaries = to(db, MENTOR_PHONE, "mapping:")
    assert sorted(m.text.splitlines()[0].rsplit(" ", 2)[-2] for m in summaries) == [
        "Lena", "Omar"]

    assert main(["forget", "--guardian", omar]) == 0
    worries = to(db, MENTOR_PHONE, "concern:")
    assert [m.text.startswith("Lena Hassan") for m in worries] == [False, True]
    assert worries[0].text.endswith("\nAnteckning: …")
    assert worries[1].text.endswith("\nAnteckning: Trött")
    [kept] = to(db, MENTOR_PHONE, "mapping:")
    assert kept.text.splitlines()[0].endswith("besvarad av Lena Hassan:")
    with Session(db) as session:
        [mapping] = session.exec(select(CauseMapping)).all()
        assert mapping.finished_at is not None
