"""Return plans and the cause mapping by SMS:
in-process transcripts (tests/transcript.py), the sweeps run as the scheduler would at the
moments that matter. The real scheduler's timing across a restart, and the mapping's
picture on Telegram, are in tests/test_return_plans.py and tests/test_concerns_and_mapping.py.

Elin (8B, 15) has her own phone; Eva is her mother; Anna her mentor.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from storage.models import CauseMapping, PlanCheckIn, Student
from tests.telegram_harness import MENTOR_PHONE
from tests.test_concerns_and_mapping import MONDAY
from tests.test_return_plan_settings import db as db  # the roster with Elin, Anna, Kim
from tests.test_return_plans import ELIN, EVA, say, tick, to
from tests.transcript import House


def test_the_check_in_can_be_answered_in_words_by_sms(db: Engine) -> None:
    """"Jag behöver hjälp!" written out answers the check-in like 3 would, and Anna hears."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-24"]) == 0
    with House.open(now="2026-11-24T07:15:10+01:00") as bot:
        bot.tick()
        elin = bot.sms(ELIN)
        elin.reply()
        answer = elin.say("Jag behöver hjälp!")
        assert answer.startswith("Tack för att du säger till. Anna Mentor hör av sig")
    with Session(db) as session:
        assert session.exec(select(PlanCheckIn)).one().answer == "help"
    [told] = to(db, MENTOR_PHONE, "plan-alert:")
    assert told.text.startswith("Elin Ek (8B) behöver hjälp i morse")


def test_a_guardian_says_no_by_sms(db: Engine) -> None:
    """Eva's note comes by text with its numbered answer; her "1" turns the messages off,
    and Elin's phone gets nothing on Monday morning."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23"]) == 0
    with House.open(now="2026-11-20T16:00:00+01:00") as bot:
        bot.tick()
        eva = bot.sms(EVA)
        note = eva.reply()
        assert note.body.endswith("Du kan säga nej till de här meddelandena.\n"
                                  "Svara 1 för Inga meddelanden till Elin.")
        answered = eva.say("1")
        assert answered.startswith("Skolan skickar inga meddelanden till Elin.")
    with Session(db) as session:
        assert session.exec(select(Student).where(Student.external_id == "N007")).one(
            ).messages_off
    tick("2026-11-23T07:15:30+01:00")
    assert to(db, ELIN, "plan-morning:") == []


def test_the_mapping_answered_by_sms_digits(db: Engine) -> None:
    """By text the scale is 0–4: Elin answers seven digits, each bringing the next area."""
    say(db, MENTOR_PHONE, "/mapping Elin", MONDAY.format("12:00:00"))
    with House.open(now="2026-11-23T12:00:05+01:00") as bot:
        bot.send_due()
        elin = bot.sms(ELIN)
        intro = elin.reply()
        assert intro.body.startswith("Vi vill förstå vad som gör skolan svår för dig")
        first = elin.reply()
        assert first.body == ("1/7 Något i skolan känns svårt\n"
                              "Svara 0 för 0 %, 1 för 25 %, 2 för 50 %, 3 för 75 %, 4 för "
                              "100 %.")
        second = elin.say("0")
        assert second.startswith("2/7 Ligger långt efter i skolarbetet")
        for digit in "42130":
            elin.say(digit)
        last = elin.say("3")
        assert last.startswith("Tack! Det hjälper mycket.")
    with Session(db) as session:
        assert session.exec(select(CauseMapping)).one().answers == {
            "school_hard": 0, "behind": 4, "other_activity": 2, "belonging": 1, "mental": 3,
            "physical": 0, "home": 3}
