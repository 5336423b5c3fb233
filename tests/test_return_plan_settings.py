"""A running return plan changed as people would: the mentor from the chat (time, answer
deadline, goal, an own morning text, the trusted adult, the guardians' note) and from the
command line; a guardian saying no to the school's messages to her child, and yes again.

Elin (8B, 15) has her own phone; Eva is her mother; Anna her mentor; Kim the school's
counsellor. The plan is started on Friday 20 November 2026 and runs from Monday 23.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from policy.choices import PlanOff
from storage.db import make_engine
from storage.models import AuditLog, PlanCheckIn, ReturnPlan, Student
from tests.telegram_harness import MENTOR_PHONE, STAFF, import_roster
from tests.test_return_plans import ELIN, EVA, PLAN_ROSTER, answer, say, tap, tick, to

KIM = "+46701112235"
LENA = "+46701234501"  # Ali's and Sara's mother: nothing to do with Elin
SETTINGS_STAFF = STAFF + f"Norrskolan,Kim Kurator,{KIM},counsellor,sv\n"
FRIDAY = "2026-11-20T15:{:02d}:00+01:00"


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The transcript roster plus Elin and Kim, in place from Friday 20 November."""
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-20T12:00:00+01:00")
    import_roster(tmp_path, PLAN_ROSTER, SETTINGS_STAFF)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def lines(text: str) -> list[str]:
    """A message's lines."""
    return text.splitlines()


def test_the_mentor_changes_a_running_plan_from_the_chat(db: Engine) -> None:
    """Each setting from its button; what is written wrong is asked for again; the Monday
    message goes at the new time with the goal and Anna's own text first; silence reaches
    Kim, the new trusted adult, at the new deadline; Tuesday's text is one of ours."""
    started = answer(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(0))
    assert [c["label"] for c in started.choices or []] == ["Ändra planen", "Avsluta planen"]
    plan = tap(db, MENTOR_PHONE, started, "Ändra planen", FRIDAY.format(1))
    assert lines(plan) == [
        "Återgångsplan för Elin Ek (8B)", "Morgonmeddelande: 07:15 (mån, tis, ons, tors, fre)",
        "Svar senast: 07:45", "Utvärdering: fre 4 dec", "Trygg vuxen: Anna Mentor",
        "Mål: inget", "Daglig rad till vårdnadshavarna: av", "Egna morgontexter: 0"]
    shown = answer(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(2))
    assert [c["label"] for c in shown.choices or []] == [
        "Ändra tiden", "Svarstid", "Sätt ett mål", "Lägg till egen morgontext",
        "Byt trygg vuxen", "Daglig rad till vårdnadshavarna", "Fortsätt 2 veckor till",
        "Avsluta planen"]
    # The time: offered as buttons, or written; nonsense is asked for again.
    asked = answer(db, MENTOR_PHONE, "", FRIDAY.format(3), next(
        c["key"] for c in shown.choices or [] if c["label"] == "Ändra tiden"))
    assert [c["label"] for c in asked.choices or []] == [
        "07:00", "07:30", "07:45", "Tillbaka till planen"]
    assert say(db, MENTOR_PHONE, "tidigt", FRIDAY.format(4)) == "Skriv en tid som 07:30."
    moved = say(db, MENTOR_PHONE, "7.40", FRIDAY.format(5))
    assert lines(moved)[:3] == ["Morgonmeddelandet går nu kl. 07:40.",
                                "Återgångsplan för Elin Ek (8B)",
                                "Morgonmeddelande: 07:40 (mån, tis, ons, tors, fre)"]
    # The deadline must come after the message.
    tap(db, MENTOR_PHONE, shown, "Svarstid", FRIDAY.format(6))
    assert say(db, MENTOR_PHONE, "07:30", FRIDAY.format(7)) == (
        "Svarstiden måste vara efter morgonmeddelandet (07:40) och senast 12:00.")
    deadline = say(db, MENTOR_PHONE, "08:00", FRIDAY.format(8))
    assert lines(deadline)[0] == "Du får veta om inget svar har kommit kl. 08:00."
    assert "Svar senast: 08:00" in lines(deadline)
    # The goal, and Anna's own words (too long first).
    tap(db, MENTOR_PHONE, shown, "Sätt ett mål", FRIDAY.format(9))
    assert lines(say(db, MENTOR_PHONE, "bara första lektionen", FRIDAY.format(10)))[0] == (
        "Målet är sparat.")
    tap(db, MENTOR_PHONE, shown, "Lägg till egen morgontext", FRIDAY.format(11))
    assert say(db, MENTOR_PHONE, "x" * 250, FRIDAY.format(12)) == (
        "Det är 250 tecken; håll det under 200.")
    own = "Elin, Sixten väntar vid grinden i dag också!"
    saved = say(db, MENTOR_PHONE, own, FRIDAY.format(13))
    assert lines(saved)[0] == ("Sparat: eleven får din text någon av de närmaste "
                               "skolmorgnarna.")
    assert "Egna morgontexter: 1" in lines(saved)
    # The trusted adult: Elin's mentor, then the school's counsellor and principal.
    who = answer(db, MENTOR_PHONE, "", FRIDAY.format(14), next(
        c["key"] for c in shown.choices or [] if c["label"] == "Byt trygg vuxen"))
    assert [c["label"] for c in who.choices or []] == [
        "Anna Mentor", "Kim Kurator", "Rut Rektor", "Tillbaka till planen"]
    assert lines(tap(db, MENTOR_PHONE, who, "Kim Kurator", FRIDAY.format(15)))[0] == (
        "Kim Kurator är nu trygg vuxen.")
    [told] = to(db, KIM, "plan-adult:")
    assert told.text.startswith("Du är nu trygg vuxen i återgångsplanen för Elin Ek (8B)")
    # Monday: nothing at 07:15; at 07:40 Anna's text first, with the goal.
    tick("2026-11-23T07:16:00+01:00")
    assert to(db, ELIN, "plan-morning:") == []
    tick("2026-11-23T07:40:30+01:00")
    [monday] = to(db, ELIN, "plan-morning:")
    assert lines(monday.text) == [own, "Dagens mål: bara första lektionen", "Hur ser dagen ut?"]
    # No answer: not yet at 07:50 (the old 07:45 is gone), Kim at 08:00, not Anna.
    tick("2026-11-23T07:50:00+01:00")
    assert to(db, KIM, "plan-alert:") == []
    tick("2026-11-23T08:00:30+01:00")
    [silent] = to(db, KIM, "plan-alert:")
    assert silent.text.startswith("Elin Ek (8B) har inte svarat på morgonens avstämning")
    assert to(db, MENTOR_PHONE, "plan-alert:") == []
    # Tuesday: one of ours again, Anna's text is not repeated.
    tick("2026-11-24T07:41:00+01:00")
    tuesday = to(db, ELIN, "plan-morning:")[1]
    assert lines(tuesday.text)[0] != own
    assert lines(tuesday.text)[0].startswith(("God morgon, Elin", "Morron, Elin", "Hej Elin"))
    # "/plan Elin 07:20" moves the time at once.
    assert lines(say(db, MENTOR_PHONE, "/plan Elin 07:20", "2026-11-24T09:00:00+01:00"))[0] == (
        "Morgonmeddelandet går nu kl. 07:20.")
    with Session(db) as session:
        stored = session.exec(select(ReturnPlan)).one()
        assert (f"{stored.morning_time:%H:%M}", f"{stored.answer_by:%H:%M}") == (
            "07:20", "08:00")
        changes = session.exec(select(AuditLog).where(
            AuditLog.action == "plan.change").order_by(col(AuditLog.id))).all()
        assert [c.detail["changed"] for c in changes] == [
            ["morning_time"], ["answer_by"], ["goal"], ["trusted_adult_id"], ["morning_time"]]
        assert "första" not in json.dumps([c.detail for c in changes])  # no text in the log


def test_nobody_else_changes_the_plan(db: Engine) -> None:
    """Eva (a guardian) and Elin (the student) tapping a staff button, or writing to a
    question asked of Anna, learn and change nothing."""
    say(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(0))
    shown = answer(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(1))
    goal = next(c["key"] for c in shown.choices or [] if c["label"] == "Sätt ett mål")
    for phone in (EVA, ELIN):
        assert say(db, phone, "", FRIDAY.format(2), goal) == "Det här är för skolpersonal."
    assert say(db, ELIN, "/plan Elin", FRIDAY.format(3)) == "Det här är för skolpersonal."
    with Session(db) as session:
        assert session.exec(select(ReturnPlan)).one().goal is None


def test_a_guardian_says_no_to_the_messages_and_yes_again(db: Engine) -> None:
    """Eva is told when the plan starts and taps No messages to Elin: Anna hears at once,
    Monday brings Elin nothing, and Anna's view says why. With /plan Eva allows them again:
    Tuesday's message goes. Another family's mother cannot do it for Elin."""
    say(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(0))
    [note] = to(db, EVA, "plan-start:")
    assert note.text == (
        "Skolan har startat en återgångsplan för Elin. På skoldagar från mån 23 nov får Elin "
        "ett kort, vänligt meddelande kl. 07:15 som frågar hur dagen ser ut. Anna Mentor "
        "följer upp. Du kan säga nej till de här meddelandena.")
    with Session(db) as session:
        elin = session.exec(select(Student).where(Student.external_id == "N007")).one()
    assert say(db, LENA, "", FRIDAY.format(1), PlanOff(elin.id or 0).pack()) == (
        "Den frågan är inte längre öppen.")
    off = answer(db, EVA, "", FRIDAY.format(2), (note.choices or [])[0]["key"])
    assert off.text == "Skolan skickar inga meddelanden till Elin."
    assert [c["label"] for c in off.choices or []] == ["Tillåt meddelanden till Elin"]
    [heard] = to(db, MENTOR_PHONE, "plan-consent:")
    assert heard.text == ("Eva Ek (vårdnadshavare) har bett skolan att inte skicka meddelanden "
                          "till Elin Ek (8B): inga fler morgonmeddelanden. Prata med familjen.")
    assert ("En vårdnadshavare har bett skolan att inte skicka meddelanden till eleven: inga "
            "morgonmeddelanden skickas.") in lines(say(db, MENTOR_PHONE, "/plan Elin",
                                                       FRIDAY.format(3)))
    tick("2026-11-23T07:15:30+01:00")
    tick("2026-11-23T07:50:00+01:00")
    assert to(db, ELIN, "plan-morning:") == []
    assert to(db, MENTOR_PHONE, "plan-alert:") == []  # no message, so no silence either
    shown = answer(db, EVA, "/plan", "2026-11-23T18:00:00+01:00")
    assert shown.text == "Skolan skickar inga meddelanden till Elin."
    assert tap(db, EVA, shown, "Tillåt meddelanden till Elin", "2026-11-23T18:01:00+01:00") == (
        "Elin får återgångsplanens morgonmeddelanden.")
    assert to(db, MENTOR_PHONE, "plan-consent:")[1].text.startswith(
        "Eva Ek (vårdnadshavare) låter skolan skicka meddelanden till Elin Ek (8B) igen")
    tick("2026-11-24T07:15:30+01:00")
    assert len(to(db, ELIN, "plan-morning:")) == 1
    with Session(db) as session:
        assert [a.action for a in session.exec(select(AuditLog).where(
            col(AuditLog.action).startswith("student.messages")))] == [
            "student.messages_off", "student.messages_on"]


def test_a_plan_cannot_start_against_a_guardians_no(db: Engine) -> None:
    """With the messages off (the guardian phoned the school), neither the chat nor the
    command line starts a plan; the refusal says why."""
    assert main(["plan", "messages", "--student", "N007", "off"]) == 0
    assert say(db, MENTOR_PHONE, "/plan Elin", FRIDAY.format(0)) == (
        "En vårdnadshavare till Elin Ek (8B) har bett skolan att inte skicka meddelanden till "
        "eleven, så det kan inte bli några morgonmeddelanden.")
    assert main(["plan", "start", "--student", "N007"]) == 2
    assert main(["plan", "messages", "--student", "N007", "on"]) == 0
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23"]) == 0
    assert len(to(db, EVA, "plan-start:")) == 1  # told, whoever started it


def test_changing_a_plan_from_the_command_line(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan change` sets what the chat sets, refuses what does not fit, and `plan list
    --json` shows the plan as it stands."""
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23",
                 "--answer-by", "07:10"]) == 2  # before the 07:15 message
    assert main(["plan", "start", "--student", "N007", "--start", "2026-11-23",
                 "--answer-by", "07:40"]) == 0
    assert main(["plan", "change", "--student", "N007", "--time", "07:45"]) == 2
    assert main(["plan", "change", "--student", "N007", "--adult", LENA]) == 2  # not staff
    capsys.readouterr()
    assert main(["plan", "change", "--student", "N007", "--time", "07:00", "--goal",
                 "två lektioner", "--days", "mon,wed", "--guardian-note", "--adult", KIM,
                 "--add-text", "Vi ses, Elin!"]) == 0
    assert capsys.readouterr().out == (
        "Return plan changed: goal, guardian_note, morning_time, trusted_adult_id, weekdays, "
        "own text added.\n")
    assert main(["plan", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert {k: row[k] for k in ("student_id", "morning_time", "answer_by", "weekdays", "goal",
                                "guardian_note", "own_texts", "messages_off")} == {
        "student_id": "N007", "morning_time": "07:00", "answer_by": "07:40",
        "weekdays": "13", "goal": "två lektioner", "guardian_note": True, "own_texts": 1,
        "messages_off": False}
    tick("2026-11-23T07:00:30+01:00")
    [monday] = to(db, ELIN, "plan-morning:")
    assert lines(monday.text)[0] == "Vi ses, Elin!"
    tick("2026-11-24T07:00:30+01:00")  # a Tuesday: not a plan day now
    assert len(to(db, ELIN, "plan-morning:")) == 1
    tick("2026-11-23T07:40:30+01:00")
    assert [m.text for m in to(db, KIM, "plan-alert:")] == [
        "Elin Ek (8B) har inte svarat på morgonens avstämning (återgångsplan). Ta kontakt."]
    assert main(["plan", "end", "--student", "N007"]) == 0
    assert main(["plan", "change", "--student", "N007", "--time", "07:30"]) == 2
    with Session(db) as session:
        assert session.exec(select(PlanCheckIn)).one().alerted_at is not None

