"""Action plans after a meeting (seed 004 "Tiltaksplan", seed 001 "plan för ökad närvaro"):
the mentor writes three measures for Elin — hers, her mother's, the counsellor's — each
owner hears on its day, and after two weeks of school the evaluation carries the
attendance before and during the plan; "it works" closes the concern.

Elin (8B) was away Monday to Thursday the week before the meeting (4 of 10 school days),
and one day during the plan (1 of 10).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from storage.models import ActionPlan, AuditLog, Concern, Measure, StaffTask
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE
from tests.test_return_plan_settings import KIM
from tests.test_return_plan_settings import db as db  # the roster with Elin, Eva, Anna, Kim
from tests.test_return_plans import ELIN, EVA, answer, say, tap, tick, to

ABSENT = "2026-11-{:02d},N007,absent,,,\n"


def test_an_action_plan_is_written_reminded_and_evaluated(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written in one message (two lines not understood, and said so), saved; reminders at
    08:00 on each measure's day, once; the evaluation on the tenth school day."""
    path = write(tmp_path, "away.csv", "date,student_id,status,lesson_start,lesson_end,"
                 "minutes_late\n" + "".join(ABSENT.format(d) for d in (16, 17, 18, 19)))
    assert main(["attendance", "import", path]) == 0
    assert main(["concern", "raise", "--student", "N007"]) == 0
    asked = say(db, MENTOR_PHONE, "/actionplan Elin", "2026-11-23T14:00:00+01:00")
    assert asked.startswith("Skriv åtgärderna för Elin Ek (8B), en per rad")
    written = answer(db, MENTOR_PHONE, "Eva: följer Elin till bussen, 25/11\n"
                     "Kim: samtal med Elin, 26/11\n"
                     "Elin: packar väskan kvällen innan, 24/11\n"
                     "Zlatan: något, 1/12\n"
                     "Anna: ringer hem", "2026-11-23T14:05:00+01:00")
    assert written.text.splitlines() == [
        "• Eva Ek (hem): följer Elin till bussen – ons 25 nov",
        "• Kim Kurator (hälsa): samtal med Elin – tors 26 nov",
        "• Elin Ek (elev): packar väskan kvällen innan – tis 24 nov",
        "Rad 4: vem gör det? Börja med ett namn och ett kolon.",
        "Rad 5: när senast? Avsluta med ett datum, till exempel 7/12.",
        "Skriv fler rader, eller spara planen."]
    saved = tap(db, MENTOR_PHONE, written, "Spara planen", "2026-11-23T14:06:00+01:00")
    assert saved == ("Åtgärdsplanen för Elin Ek (8B) är sparad: 3 åtgärder, utvärdering "
                     "mån 7 dec. Varje ansvarig påminns på dagen.")
    # Tuesday: Elin at 08:00, once; nobody else.
    tick("2026-11-24T07:59:00+01:00")
    assert to(db, ELIN, "measure:") == []
    tick("2026-11-24T08:00:30+01:00")
    tick("2026-11-24T08:05:00+01:00")
    [hers] = to(db, ELIN, "measure:")
    assert hers.text == ("En vänlig påminnelse från skolan, från planen ni kom överens om: "
                         "packar väskan kvällen innan")
    assert to(db, EVA, "measure:") == [] and to(db, KIM, "measure:") == []
    tick("2026-11-25T08:01:00+01:00")
    assert [m.text.rsplit(": ", 1)[-1] for m in to(db, EVA, "measure:")] == [
        "följer Elin till bussen"]
    # Thursday: Kim's is a task, done from the message.
    tick("2026-11-26T08:01:00+01:00")
    [kims] = to(db, KIM, "measure:")
    assert kims.text == "I dag, från åtgärdsplanen för Elin Ek (8B): samtal med Elin"
    assert tap(db, KIM, kims, "Klar", "2026-11-26T15:00:00+01:00") == (
        "Markerad som klar: Elin Ek (8B). Tack!")
    # Away on Wednesday 2 December; the evaluation: Monday 7 December at 08:00, not before.
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-12-02T12:00:00+01:00")
    path = write(tmp_path, "wednesday.csv", "date,student_id,status,lesson_start,lesson_end,"
                 "minutes_late\n2026-12-02,N007,absent,,,\n")
    assert main(["attendance", "import", path]) == 0
    tick("2026-12-04T08:30:00+01:00")
    tick("2026-12-07T07:59:00+01:00")
    assert to(db, MENTOR_PHONE, "aplan-eval:") == []
    tick("2026-12-07T08:00:30+01:00")
    tick("2026-12-07T08:01:00+01:00")
    [evaluation] = to(db, MENTOR_PHONE, "aplan-eval:")
    assert evaluation.text == (
        "Dags att utvärdera åtgärdsplanen för Elin Ek (8B). Frånvaro under planens 10 "
        "skoldagar: 10 %; under de 10 skoldagarna före: 40 %. Fungerar planen?")
    assert tap(db, MENTOR_PHONE, evaluation, "Den fungerar", "2026-12-07T09:00:00+01:00") == (
        "Noterat: planen för Elin Ek (8B) fungerar. Oron är avslutad.")
    with Session(db) as session:
        assert session.exec(select(ActionPlan)).one().status == "working"
        assert session.exec(select(Concern)).one().closed_at is not None
        assert [m.level for m in session.exec(select(Measure).order_by(col(Measure.id)))] == [
            "home", "health", "student"]
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "measure")).all()
        assert task.status == "done"


def test_nobody_but_staff_writes_one(db: Engine) -> None:
    """A guardian's /actionplan is refused; a mentor's for a stranger finds nobody."""
    assert say(db, EVA, "/actionplan Elin", "2026-11-23T14:00:00+01:00") == (
        "Det här är för skolpersonal.")
    assert say(db, MENTOR_PHONE, "/actionplan Zlatan", "2026-11-23T14:01:00+01:00") == (
        "Ingen av dina elever heter Zlatan.")


def test_the_case_log_prints_everything_escaped(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """`narvaro caselog`: the concern with its signals and note, the measures, the tasks, in
    Swedish; what people wrote is escaped; making it is audited."""
    say(db, KIM, "/concern Elin", "2026-11-23T10:00:00+01:00")
    say(db, KIM, "", "2026-11-23T10:00:10+01:00", "concern:signal:lack_of_sleep")
    say(db, KIM, "<b>trött</b> & ledsen", "2026-11-23T10:00:20+01:00")
    say(db, KIM, "", "2026-11-23T10:00:30+01:00", "concern:send")
    say(db, MENTOR_PHONE, "/actionplan Elin", "2026-11-23T14:00:00+01:00")
    say(db, MENTOR_PHONE, "Eva: följer Elin till bussen, 25/11", "2026-11-23T14:01:00+01:00")
    say(db, MENTOR_PHONE, "", "2026-11-23T14:02:00+01:00", "aplan:save")
    capsys.readouterr()
    assert main(["caselog", "--student", "N007"]) == 0
    page = capsys.readouterr().out
    assert page.startswith('<!DOCTYPE html><html lang="sv">')
    assert "<h1>Ärendelogg: Elin Ek (8B)</h1>" in page
    assert "Kim Kurator: Sömnbrist: &lt;b&gt;trött&lt;/b&gt; &amp; ledsen</li>" in page
    assert "<b>trött" not in page
    assert "Eva Ek (hem): följer Elin till bussen</li>" in page
    assert "<h2>Orsakskartläggningar</h2><p>Inget ännu.</p>" in page
    with Session(db) as session:
        assert session.exec(select(AuditLog).where(
            AuditLog.action == "student.case_log")).one().actor == "cli"
    capsys.readouterr()
    assert main(["audit", "list", "--student", "N007", "--json"]) == 0
    trail = json.loads(capsys.readouterr().out)
    assert {"concern.raise", "concern.note", "action_plan.record", "student.case_log"} <= {
        row["action"] for row in trail}
    assert "trött" not in json.dumps(trail)  # the note never enters the trail


def test_an_action_plan_from_the_command_line(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """`actionplan add` with two measures by phone number (a wrong one refuses the whole
    plan, saying which); `actionplan list` shows it; Eva hears on her day."""
    assert main(["actionplan", "add", "--student", "N007", "--measure",
                 f"{EVA}|följer Elin till bussen|2026-11-24", "--measure",
                 "+46700000000|något|2026-11-24"]) == 2
    assert main(["actionplan", "add", "--student", "N007", "--measure",
                 f"{EVA}|följer Elin till bussen|2026-11-24", "--measure",
                 f"{KIM}|samtal med Elin|2026-11-25"]) == 0
    capsys.readouterr()
    assert main(["actionplan", "list", "--student", "N007"]) == 0
    [plan] = json.loads(capsys.readouterr().out)
    assert [(m["level"], m["due_on"]) for m in plan["measures"]] == [
        ("home", "2026-11-24"), ("health", "2026-11-25")]
    assert plan["evaluate_on"] == "2026-12-04"
    tick("2026-11-24T08:00:30+01:00")
    assert [m.text for m in to(db, EVA, "measure:")] == [
        "En vänlig påminnelse från skolan, från planen ni kom överens om: följer Elin till "
        "bussen"]
