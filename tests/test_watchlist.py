"""The mentor's weekly watchlist (seed 004: the contact teacher "shall at all times know which
students are approaching 10 % absence, 10 single lessons or repeated lateness").

Norrskolan follows Lyngen's plan; its term began on Monday 2 November, so by Monday 30
November it has 21 school days, and Lyngen takes a share over at least 50 ("10 % ... ca. 10
fraværsdager i en termin"). Noor was away four whole days (8 %, rising), Ali missed nine
single lessons over two weeks, Emil six whole days (12 %: on the step already, so not
"near").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from tests.rosters import write
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE
from tests.test_ladder_concern import db as db  # the transcript roster, Anna every mentor
from tests.test_ladder_concern import use_plan
from tests.test_return_plans import tick, to

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"


def test_near_a_step_on_monday_morning_once(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anna's list at 07:45 on Monday names Ali and Noor with their counter, the step's
    threshold and the trend, not Emil (past it) nor anyone else; once that week."""
    use_plan("lyngen")
    assert main(["calendar", "import", write(
        tmp_path, "calendar.csv",
        "school,kind,name,start,end\nNorrskolan,term,HT26,2026-11-02,2026-12-22\n")]) == 0
    lessons = "".join(f"2026-11-{day:02d},N001,absent,08:15,09:15,\n"
                      for day in (17, 18, 19, 20, 23, 24, 25, 26, 27))
    whole = "".join(f"2026-11-{day:02d},{student},absent,,,\n"
                    for student, days in (("N003", (23, 24, 25, 26)),
                                          ("N004", (16, 17, 18, 19, 20, 23)))
                    for day in days)
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-30T07:00:00+01:00")
    assert main(["attendance", "import", write(tmp_path, "away.csv", HEADER + lessons + whole)
                 ]) == 0
    tick("2026-11-30T07:44:00+01:00")
    assert to(db, MENTOR_PHONE, "watch:") == []
    tick("2026-11-30T07:46:00+01:00")
    tick("2026-11-30T09:00:00+01:00")
    tick("2026-12-01T07:46:00+01:00")
    [watch] = to(db, MENTOR_PHONE, "watch:")
    assert watch.text.splitlines() == [
        "Dina elever nära ett steg i planen den här veckan:",
        "• Ali Hassan (7A): 9 enstaka lektioner missade (planens steg vid 10), stigande",
        "• Noor Berg (7A): frånvaro 8 % (planens steg vid 10 %), stigande"]
    # The next Monday: a new week, a new list.
    tick("2026-12-07T07:46:00+01:00")
    assert len(to(db, MENTOR_PHONE, "watch:")) == 2


def test_nobody_near_means_no_message(db: Engine) -> None:
    """A Monday with nobody near any step sends nothing at all."""
    use_plan("lyngen")
    tick("2026-11-02T07:50:00+01:00")
    assert to(db, MENTOR_PHONE, "watch:") == []


def test_a_roll_call_imported_weeks_late_counts_without_a_notice(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Absences from more than two weeks back, imported today, are unexcused at once: no
    same-day notice and no call about them, but the plan's counters see them (three
    unexcused occasions, days apart: Ljusnarsberg's meeting, and its invitation to Kari)."""
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-30T07:00:00+01:00")
    assert main(["attendance", "import", write(tmp_path, "old.csv", HEADER + "".join(
        f"2026-11-{day:02d},N003,absent,,,\n" for day in (3, 5, 9)))]) == 0
    tick("2026-11-30T09:00:00+01:00")
    capsys.readouterr()
    assert main(["absences", "list", "--student", "N003", "--json"]) == 0
    assert [row["state"] for row in json.loads(capsys.readouterr().out)] == ["unexcused"] * 3
    assert [m.dedupe_key.split(":")[0] for m in to(db, GUARDIANS["nb"][1], "")] == ["letter"]
    assert to(db, MENTOR_PHONE, "call-home:") == []
    capsys.readouterr()
    assert main(["audit", "list", "--action", "absence.unexcused", "--json"]) == 0
    assert [(row["actor"], row["action"], row["student_id"])
            for row in json.loads(capsys.readouterr().out)] == [
        ("system", "absence.unexcused", "N003")] * 3
