"""Return plans (Lyngen's "Tilbakeføring"): the student's morning encouragement and
check-in, answers that reach the trusted adult, silence, days without a message, the
evaluation; and the 07:15 message through the running bot, on time and once across a restart.

Elin (8B, 15) has her own phone in the roster; Anna is her mentor. The plan is started from
the chat on Friday 20 November 2026 and runs from Monday 23.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from storage.db import make_engine, session_scope
from storage.models import OutboxMessage, Person, PlanCheckIn, ReturnPlan, StaffTask
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, ROSTER, STAFF, import_roster, settled
from tests.test_absence_notices import both

ELIN, EVA = "+46701234507", "+46701234508"
PLAN_ROSTER = ROSTER + "Norrskolan,8B,N007,Elin Ek,sv,+46701234507,no,Eva Ek,+46701234508,sv," \
    "+46701112233\n"
SEVEN_FIFTEEN = "2026-11-23T07:15:00+01:00"
LABELS = ["Jag kommer", "Jag kommer senare", "Jag behöver hjälp", "Inte i dag"]


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The transcript roster plus Elin, in place from Friday 20 November."""
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-20T12:00:00+01:00")
    import_roster(tmp_path, PLAN_ROSTER, STAFF)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def say(db: Engine, phone: str, text: str, when: str, choice: str | None = None) -> str:
    """Someone writes (or taps `choice`) in the chat; the answer's text."""
    return answer(db, phone, text, when, choice).text


@dataclass(frozen=True)
class Shown:
    """A message as its reader sees it: text and buttons."""

    text: str
    choices: list[dict[str, str]] | None


def answer(db: Engine, phone: str, text: str, when: str, choice: str | None = None) -> Shown:
    """Someone writes (or taps `choice`) in the chat; the answer."""
    with session_scope(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        [reply] = handle_incoming(
            session, Incoming(person.id or 0, "webchat", f"{phone}:{when}:{text[:60]}", text,
                              choice), now=datetime.fromisoformat(when))
        return Shown(reply.text, reply.choices)


def tick(now: str) -> None:
    """`narvaro tick --now …`."""
    assert main(["tick", "--now", now]) == 0


def to(db: Engine, phone: str, prefix: str) -> list[OutboxMessage]:
    """Messages queued for `phone` whose dedupe key starts with `prefix`, oldest first."""
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.recipient_id == person.id,
            col(OutboxMessage.dedupe_key).startswith(prefix)).order_by(col(OutboxMessage.id))))


def tap(db: Engine, phone: str, message: OutboxMessage | Shown, label: str, when: str) -> str:
    """Tap the button `label` of `message`."""
    choice = next(c for c in message.choices or [] if c["label"] == label)
    return say(db, phone, "", when, choice["key"])


def test_a_plan_from_the_chat_mornings_answers_silence_and_evaluation(
    db: Engine, tmp_path: Path
) -> None:
    """Started by the mentor; a message each school day at 07:15 (never the same two days in
    a row), none on a reported-sick day, a weekend or a break; answers routed; silence
    noticed at 07:45; the evaluation after two weeks of school."""
    started = say(db, MENTOR_PHONE, "/plan Elin", "2026-11-20T15:00:00+01:00")
    assert started == ("Återgångsplan startad för Elin Ek (8B): ett morgonmeddelande kl. 07:15 "
                       "på skoldagar från mån 23 nov, utvärdering fre 4 dec. Du får veta direkt "
                       "om eleven behöver hjälp eller inte svarar.")
    assert say(db, MENTOR_PHONE, "/plan Noor", "2026-11-20T15:01:00+01:00") == (
        "Noor Berg (7A) har ingen egen telefon eller Telegram i registret, så "
        "morgonmeddelandena når inte fram.")
    assert say(db, ELIN, "/plan Elin", "2026-11-20T15:02:00+01:00") == (
        "Det här är för skolpersonal.")
    # Monday: not at 07:14; at 07:15 once, however often the scheduler runs.
    tick("2026-11-23T07:14:00+01:00")
    assert to(db, ELIN, "plan-morning:") == []
    tick("2026-11-23T07:15:20+01:00")
    tick("2026-11-23T07:16:00+01:00")
    [monday] = to(db, ELIN, "plan-morning:")
    assert monday.text.startswith(("God morgon, Elin", "Morron, Elin", "Hej Elin"))
    assert monday.text.endswith("\nHur ser dagen ut?")
    assert [c["label"] for c in monday.choices or []] == LABELS
    assert tap(db, ELIN, monday, "Jag kommer", "2026-11-23T07:20:00+01:00") == (
        "Vad bra! Vi ses i skolan.")
    tick("2026-11-23T07:50:00+01:00")
    assert to(db, MENTOR_PHONE, "plan-alert:") == []  # she answered: nothing to tell
    # ... but Anna's morning list says so, quietly.
    tick("2026-11-23T08:01:00+01:00")
    [digest] = to(db, MENTOR_PHONE, "digest:")
    assert "På väg i morse (återgångsplan):\n• Elin Ek (8B)" in digest.text
    # Tuesday: another text; no answer by 07:45 (30 minutes before 08:15) reaches Anna, once.
    tick("2026-11-24T07:15:30+01:00")
    tuesday = to(db, ELIN, "plan-morning:")[1]
    assert tuesday.text.splitlines()[0] != monday.text.splitlines()[0]
    tick("2026-11-24T07:44:00+01:00")
    assert to(db, MENTOR_PHONE, "plan-alert:") == []
    tick("2026-11-24T07:45:30+01:00")
    tick("2026-11-24T07:46:00+01:00")
    [silent] = to(db, MENTOR_PHONE, "plan-alert:")
    assert silent.text == ("Elin Ek (8B) har inte svarat på morgonens avstämning "
                           "(återgångsplan). Ta kontakt.")
    assert tap(db, MENTOR_PHONE, silent, "Jag ringer", "2026-11-24T07:50:00+01:00") == (
        "Markerad som klar: Elin Ek (8B). Tack!")
    # Wednesday: Eva reported Elin sick on Tuesday evening: no push to a sick child.
    receipt = answer(db, EVA, "Elin är sjuk i morgon", "2026-11-24T19:00:00+01:00")
    assert receipt.text.startswith("Registrerat: Elin frånvarande")
    tick("2026-11-25T07:20:00+01:00")
    assert len(to(db, ELIN, "plan-morning:")) == 2
    # Thursday: "I need help" reaches Anna at once.
    tick("2026-11-26T07:15:30+01:00")
    thursday = to(db, ELIN, "plan-morning:")[2]
    assert tap(db, ELIN, thursday, "Jag behöver hjälp", "2026-11-26T07:21:00+01:00") == (
        "Tack för att du säger till. Anna Mentor hör av sig snart.")
    help_alert = to(db, MENTOR_PHONE, "plan-alert:")[1]
    assert help_alert.text == ("Elin Ek (8B) behöver hjälp i morse (återgångsplan). "
                               "Ta kontakt.")
    # Saturday, and a study day the school calendar gives Monday 30: nothing.
    tick("2026-11-28T07:20:00+01:00")
    path = write(tmp_path, "calendar.csv", "school,kind,name,start,end\n"
                 "Norrskolan,term,HT26,2026-08-17,2026-12-22\n"
                 "Norrskolan,break,Studiedag,2026-11-30,2026-11-30\n")
    assert main(["calendar", "import", path]) == 0
    tick("2026-11-30T07:20:00+01:00")
    assert len(to(db, ELIN, "plan-morning:")) == 3
    # The evaluation comes on the day announced at the start (the 10th school day then).
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        tick(f"{day}T07:16:00+01:00")
        tick(f"{day}T08:05:00+01:00")
    assert to(db, MENTOR_PHONE, "plan-eval:") == []
    tick("2026-12-04T07:59:00+01:00")
    assert to(db, MENTOR_PHONE, "plan-eval:") == []
    tick("2026-12-04T08:05:00+01:00")
    tick("2026-12-04T08:06:00+01:00")
    [evaluation] = to(db, MENTOR_PHONE, "plan-eval:")
    assert evaluation.text == ("Dags att utvärdera återgångsplanen för Elin Ek (8B): i skolan "
                               "8 av 9 skoldagar sedan mån 23 nov.")
    assert tap(db, MENTOR_PHONE, evaluation, "Fortsätt 2 veckor till",
               "2026-12-04T09:00:00+01:00") == (
        "Återgångsplanen för Elin Ek (8B) fortsätter; nästa utvärdering fre 18 dec.")
    assert tap(db, MENTOR_PHONE, evaluation, "Avsluta planen", "2026-12-07T09:01:00+01:00") == (
        "Återgångsplanen för Elin Ek (8B) är avslutad.")
    tick("2026-12-08T07:20:00+01:00")
    with Session(db) as session:
        assert session.exec(select(ReturnPlan)).one().status == "ended"
        days = [c.day.isoformat() for c in session.exec(select(PlanCheckIn))]
        assert "2026-12-08" not in days and "2026-11-25" not in days
        assert len(session.exec(select(StaffTask).where(
            StaffTask.kind == "evaluate_plan")).all()) == 1


def test_chosen_weekdays_and_a_daily_note_to_the_guardians(db: Engine) -> None:
    """`plan start --days mon,wed,fri --guardian-note`: no message on Tuesday; Eva hears what
    Elin answered on Monday, and that no answer came on Wednesday."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23",
                 "--days", "mon,wed,fri", "--guardian-note", "--goal",
                 "bara de två första lektionerna"]) == 0
    tick("2026-11-23T07:15:30+01:00")
    [monday] = to(db, ELIN, "plan-morning:")
    assert "\nDagens mål: bara de två första lektionerna\n" in monday.text
    tap(db, ELIN, monday, "Jag kommer senare", "2026-11-23T07:25:00+01:00")
    assert [m.text for m in to(db, EVA, "plan-note:")] == [
        "Elin svarade på morgonens avstämning: Jag kommer senare."]
    tick("2026-11-24T07:15:30+01:00")
    assert len(to(db, ELIN, "plan-morning:")) == 1
    tick("2026-11-25T07:15:30+01:00")
    tick("2026-11-25T07:46:00+01:00")
    assert len(to(db, ELIN, "plan-morning:")) == 2
    assert [m.text for m in to(db, EVA, "plan-note:")][1:] == [
        "Elin har inte svarat på morgonens avstämning. Skolan har fått veta det."]
    assert [m.text for m in to(db, MENTOR_PHONE, "plan-alert:")] == [
        "Elin Ek (8B) har inte svarat på morgonens avstämning (återgångsplan). Ta kontakt."]


def test_the_students_own_words_to_the_check_in_reach_the_trusted_adult_as_written(
    db: Engine
) -> None:
    """Elin writes instead of tapping. A greeting is just a greeting. Words that are no
    button are "I need help" and reach Anna at once as Elin wrote them; Eva, with the
    guardian note, hears only the answer. A button's label or number written is that answer;
    words after an answer go to Anna too; "hjälp" is the check-in's, not the school's
    number; "sjuk" before an answer is "Not today"."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23",
                 "--guardian-note"]) == 0
    tick("2026-11-23T07:15:30+01:00")
    assert say(db, ELIN, "Hej!", "2026-11-23T07:16:00+01:00").startswith("Hej Elin!")
    words = "jag orkar inte mer, ingen vill vara med mig i skolan"
    assert say(db, ELIN, words, "2026-11-23T07:17:00+01:00") == (
        "Tack för att du säger till. Anna Mentor hör av sig snart.")
    [monday] = to(db, MENTOR_PHONE, "plan-alert:")
    assert monday.text == ("Elin Ek (8B) behöver hjälp i morse (återgångsplan). Ta kontakt.\n"
                           f"Med elevens egna ord: ”{words}”")
    assert [c["label"] for c in monday.choices or []] == ["Jag ringer"]
    assert [m.text for m in to(db, EVA, "plan-note:")] == [
        "Elin svarade på morgonens avstämning: Jag behöver hjälp."]
    # Tuesday: the label written is the answer; what she writes after it goes to Anna.
    tick("2026-11-24T07:15:30+01:00")
    assert say(db, ELIN, "jag kommer", "2026-11-24T07:18:00+01:00") == (
        "Vad bra! Vi ses i skolan.")
    assert "hör av sig" not in say(db, ELIN, "Tack!", "2026-11-24T07:18:30+01:00")
    assert to(db, MENTOR_PHONE, "plan-words:") == []
    assert say(db, ELIN, "fast nu vet jag inte, de var elaka igår",
               "2026-11-24T07:40:00+01:00") == (
        "Tack för att du säger till. Anna Mentor hör av sig snart.")
    [after] = to(db, MENTOR_PHONE, "plan-words:")
    assert after.text == ("Elin Ek (8B) skrev efter morgonens avstämning (återgångsplan). "
                          "Ta kontakt.\nMed elevens egna ord: ”fast nu vet jag inte, de var "
                          "elaka igår”")
    tick("2026-11-24T07:46:00+01:00")
    assert len(to(db, MENTOR_PHONE, "plan-alert:")) == 1  # she answered: no silence alert
    # Wednesday: "hjälp"; Thursday: "4" (Not today); Friday: "sjuk".
    answers = {}
    for day, text in (("2026-11-25", "hjälp"), ("2026-11-26", "4"), ("2026-11-27", "sjuk")):
        tick(f"{day}T07:15:30+01:00")
        say(db, ELIN, text, f"{day}T07:20:00+01:00")
        with Session(db) as session:
            answers[text] = session.exec(select(PlanCheckIn.answer).where(
                PlanCheckIn.day == datetime.fromisoformat(day).date())).one()
    assert answers == {"hjälp": "help", "4": "not_today", "sjuk": "not_today"}
    alerts = [m.text.splitlines() for m in to(db, MENTOR_PHONE, "plan-alert:")]
    assert alerts[1:] == [
        ["Elin Ek (8B) behöver hjälp i morse (återgångsplan). Ta kontakt.",
         "Med elevens egna ord: ”hjälp”"],
        ["Elin Ek (8B) säger att hen inte kommer i dag (återgångsplan). Ta kontakt."],
        ["Elin Ek (8B) säger att hen inte kommer i dag (återgångsplan). Ta kontakt.",
         "Med elevens egna ord: ”sjuk”"]]
    # Eva, her guardian, writes as before: her words are no check-in answer.
    assert say(db, EVA, "Elin är sjuk måndag", "2026-11-27T18:00:00+01:00").startswith(
        "Registrerat: Elin frånvarande")


@pytest.mark.asyncio
async def test_the_morning_message_comes_on_time_once_across_a_restart(
    db: Engine, telegram: FakeTelegram, twilio: FakeTwilio
) -> None:
    """With the real scheduler: started at 07:14:30 and stopped before 07:15 once its
    sweeps have run, started again at 07:14:57 — the text reaches Elin's phone once it is
    07:15 on the bot's clock, once; her "1" by SMS is "I'm coming"; a third start at
    07:15:30 sends nothing again."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23"]) == 0
    async with both(telegram, twilio, NARVARO_CLOCK_START="2026-11-23T07:14:30+01:00") as bot:
        await settled(bot.runtime)
        assert bot.runtime.context.clock.now() < datetime.fromisoformat(SEVEN_FIFTEEN)
    assert to(db, ELIN, "plan-morning:") == []
    assert twilio.messages(ELIN) == []
    async with both(telegram, twilio, NARVARO_CLOCK_START="2026-11-23T07:14:57+01:00") as bot:
        text = await bot.sms_out(ELIN)
        [queued] = to(db, ELIN, "plan-morning:")
        assert queued.created_at >= datetime.fromisoformat(SEVEN_FIFTEEN)  # not before
        assert text.body.startswith(("God morgon, Elin", "Morron, Elin", "Hej Elin"))
        assert text.body.endswith("Svara 1 för Jag kommer, 2 för Jag kommer senare, 3 för Jag "
                                  "behöver hjälp, 4 för Inte i dag.")
        answer = await bot.sms_in(ELIN, "1")
        assert answer.body.startswith("Vad bra! Vi ses i skolan.")
    async with both(telegram, twilio, NARVARO_CLOCK_START="2026-11-23T07:15:30+01:00") as bot:
        await settled(bot.runtime)
    assert len(to(db, ELIN, "plan-morning:")) == 1
    mornings = [m for m in twilio.messages(ELIN) if "Hur ser dagen ut?" in m.body]
    assert len(mornings) == 1
    with Session(db) as session:
        [check_in] = session.exec(select(PlanCheckIn)).all()
        assert check_in.answer == "coming"

