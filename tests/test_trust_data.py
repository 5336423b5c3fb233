"""The audit trail, a person's data and retention, through the real command line:
`narvaro audit list`, `export`, `forget`, `purge` and the scheduled purge.

The transcript roster (tests/telegram_harness.py): Lena and Omar are Ali's guardians (Lena
Sara's too), Kari is Noor's, Anna their mentor. Monday 23 November 2026.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from storage.db import make_engine, session_scope
from storage.models import AbsenceReport, AuditLog, OutboxMessage, Person
from storage.outbox import MessageKind, enqueue_row, mark_maybe_sent, mark_sent
from storage.privacy import purge_message_texts
from tests.telegram_harness import MENTOR_PHONE, import_roster
from tests.test_return_plans import answer, say, tap, tick

pytestmark = pytest.mark.postgresql

LENA, OMAR = "+46701234501", "+46701234502"
MONDAY = "2026-11-23T{}+01:00"
NOTE = "Migrän sedan i natt"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The roster imported; the database, to check."""
    monkeypatch.setenv("NARVARO_CLOCK_START", MONDAY.format("07:00:00"))
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """`narvaro ARGS` (exit 0); its JSON output."""
    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def report_with_note(db: Engine, phone: str, child: str | None, note: str, at: str) -> None:
    """A guardian reports a child sick today with a note, in the chat (at HH:MM)."""
    steps = iter(MONDAY.format(f"{at}:{second:02d}") for second in range(60))
    shown = answer(db, phone, "/report", next(steps))
    if child is not None:
        shown = answer(db, phone, "", next(steps), next(
            c["key"] for c in shown.choices or [] if c["label"] == child))
    shown = answer(db, phone, "idag", next(steps))
    shown = answer(db, phone, "", next(steps), next(
        c["key"] for c in shown.choices or [] if c["label"] == "Sjuk"))
    assert "R-" in shown.text
    asked = tap(db, phone, shown, "Lägg till en anteckning", next(steps))
    assert asked.startswith("Skriv anteckningen")
    assert answer(db, phone, note, next(steps)).text.startswith("Tack, anteckningen sparas")


def test_a_students_trail_lists_views_and_changes_without_their_content(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Roll call, a report with a note, the mentor's /student and the operator's listing
    are each a row in `audit list --student N001`; no note, name or number in any."""
    (tmp_path / "roll.csv").write_text(
        "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
        "2026-11-23,N001,absent,,,\n2026-11-23,N003,absent,,,\n")
    assert main(["attendance", "import", str(tmp_path / "roll.csv")]) == 0
    report_with_note(db, OMAR, None, NOTE, "08:00")
    assert "Ali Hassan" in say(db, MENTOR_PHONE, "/student Ali", MONDAY.format("09:00:00"))
    run(capsys, "absences", "list", "--student", "N001", "--json")

    trail = run(capsys, "audit", "list", "--student", "N001", "--json")
    with Session(db) as session:
        anna, omar = (session.exec(select(Person.id).where(Person.phone == phone)).one()
                      for phone in (MENTOR_PHONE, OMAR))
    assert [(row["actor"], row["action"]) for row in trail] == [
        ("cli", "absence.record"), (f"person:{omar}", "report.create"),
        (f"person:{anna}", "student.view"), ("cli", "student.view")]
    assert {row["student_id"] for row in trail} == {"N001"}
    everything = json.dumps(run(capsys, "audit", "list", "--json"), ensure_ascii=False)
    for secret in (NOTE, "Migrän", OMAR, LENA, "Ali", "Hassan", "sick"):
        assert secret not in everything
    imports = run(capsys, "audit", "list", "--action", "roster.", "--json")
    assert [row["action"] for row in imports] == ["roster.import"]
    assert [row["student_id"] for row in run(
        capsys, "audit", "list", "--student", "N003", "--json")] == ["N003"]
    tick(MONDAY.format("08:46:00"))  # Noor unexcused: the mentor's call is a new task
    assert [(row["actor"], row["action"], row["detail"]["kind"]) for row in run(
        capsys, "audit", "list", "--student", "N003", "--action", "task.", "--json")] == [
        ("system", "task.create", "call_home")]


def test_export_gives_a_guardian_their_data_and_never_the_other_guardians(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lena's export: herself, Ali and Sara with their absences and reports, her own reason
    and note; Omar's report on Ali is there without his reason or note, and his number is
    nowhere."""
    report_with_note(db, OMAR, None, "Omars egen anteckning", "08:00")
    report_with_note(db, LENA, "Sara", NOTE, "08:05")
    data = run(capsys, "export", "--guardian", "070-123 45 01")
    assert data["person"]["phone"] == LENA and data["person"]["name"] == "Lena Hassan"
    students = {s["student_id"]: s for s in data["students"]}
    assert set(students) == {"N001", "N002"}
    [omars] = students["N001"]["reports"]
    assert (omars["by_you"], omars["note"], omars["reason"]) == (False, None, None)
    [hers] = students["N002"]["reports"]
    assert (hers["by_you"], hers["note"], hers["reason"]) == (True, NOTE, "sick")
    assert data["messages"] and all("text" in m for m in data["messages"])
    text = json.dumps(data, ensure_ascii=False)
    assert OMAR not in text and "Omars egen anteckning" not in text
    assert main(["export", "--guardian", "+46709999999"]) == 2
    assert [row["action"] for row in run(
        capsys, "audit", "list", "--action", "person.export", "--json")] == ["person.export"]


def test_forget_removes_a_guardian_who_has_left(
    db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Omar is forgotten: no link to Ali, no name, number, chat or note left, and the
    mentor's call prompts no longer quote him; Lena is untouched; it is audited."""
    (tmp_path / "roll.csv").write_text(
        "date,student_id,status,lesson_start,lesson_end,minutes_late\n2026-11-23,N001,absent,,,\n")
    assert main(["attendance", "import", str(tmp_path / "roll.csv")]) == 0
    tick(MONDAY.format("08:46:00"))  # Ali's call prompt to Anna quotes Lena and Omar
    report_with_note(db, OMAR, None, NOTE, "09:00")
    with Session(db) as session:
        assert session.exec(select(OutboxMessage).where(
            col(OutboxMessage.text).contains(OMAR))).first() is not None
    capsys.readouterr()
    assert main(["forget", "--guardian", OMAR]) == 0
    assert "Forgotten person" in capsys.readouterr().out
    with Session(db) as session:
        assert session.exec(select(Person).where(Person.phone == OMAR)).first() is None
        assert session.exec(select(Person).where(Person.name == "Omar Hassan")).first() is None
        assert all(r.note is None for r in session.exec(select(AbsenceReport)))
        texts = " ".join(session.exec(select(OutboxMessage.text)).all())
        assert OMAR not in texts and "Omar Hassan" not in texts
        assert session.exec(select(OutboxMessage).where(
            col(OutboxMessage.text).contains(LENA))).first() is not None
    lena = run(capsys, "export", "--guardian", LENA)
    assert {s["student_id"] for s in lena["students"]} == {"N001", "N002"}
    assert [row["action"] for row in run(
        capsys, "audit", "list", "--action", "person.forget", "--json")] == ["person.forget"]
    assert main(["forget", "--guardian", "+46701234506"]) == 2  # Vera is a student


def test_notes_are_purged_after_the_school_year_and_the_report_stays(
    db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A note from November 2026 is kept to 30 June 2027 + 30 days by default; the scheduled
    sweep clears it after, `narvaro purge` does the same at once; a school's own term end
    and retention days move the date."""
    report_with_note(db, OMAR, None, NOTE, "08:00")
    report_with_note(db, LENA, "Sara", "Hos tandläkaren", "08:10")

    def notes() -> list[str | None]:
        with Session(db) as session:
            return list(session.exec(select(AbsenceReport.note).order_by(
                col(AbsenceReport.id))).all())

    tick("2027-07-30T12:00:00+02:00")
    assert notes() == [NOTE, "Hos tandläkaren"]
    (tmp_path / "calendar.csv").write_text(
        "school,kind,name,start,end\nNorrskolan,term,HT26,2026-08-17,2026-12-18\n"
        "Norrskolan,term,VT27,2027-01-11,2027-06-11\n")
    assert main(["calendar", "import", str(tmp_path / "calendar.csv")]) == 0
    assert main(["school", "set", "Norrskolan", "--note-retention-days", "10"]) == 0
    [calendar] = run(capsys, "audit", "list", "--action", "calendar.", "--json")
    assert calendar["detail"] == {"periods": 2}
    [school] = run(capsys, "audit", "list", "--action", "school.set", "--json")
    assert school["detail"] == {"changed": ["note_retention_days"]}
    monkeypatch.setenv("NARVARO_CLOCK_START", "2027-06-21T12:00:00+02:00")
    assert main(["purge"]) == 0
    assert notes() == [NOTE, "Hos tandläkaren"]  # kept through 21 June (11 June + 10)
    monkeypatch.setenv("NARVARO_CLOCK_START", "2027-06-22T12:00:00+02:00")
    capsys.readouterr()
    assert main(["purge"]) == 0
    with Session(db) as session:  # the receipts repeated the reason: their texts go too
        texts = session.exec(select(OutboxMessage.text)).all()
    assert texts and set(texts) == {""}
    assert capsys.readouterr().out == (
        f"Purged 2 report note(s) and the text of {len(texts)} old message(s).\n")
    assert notes() == [None, None]
    with Session(db) as session:
        assert len(session.exec(select(AbsenceReport)).all()) == 2
    [purge] = run(capsys, "audit", "list", "--action", "report.notes_purged", "--json")
    assert purge["detail"] == {"count": 2}


def test_message_texts_are_cleared_as_notes_are_over_two_school_years(
    db: Engine, tmp_path: Path
) -> None:
    """A message may repeat a reason or someone's words, so its text is kept like a note
    about its day: the sweep, run every day from November 2026 to August 2028, clears the
    texts of 2026/27 the day after VT27's end (11 June) + 30 days, a summer message 30 days
    after it went, and 2027/28's (no terms in the calendar: 30 June) on 31 July 2028. A
    message not yet sent, or maybe sent, keeps its text; the row itself stays."""
    (tmp_path / "calendar.csv").write_text(
        "school,kind,name,start,end\nNorrskolan,term,HT26,2026-08-17,2026-12-18\n"
        "Norrskolan,term,VT27,2027-01-11,2027-06-11\n")
    assert main(["calendar", "import", str(tmp_path / "calendar.csv")]) == 0
    written = {"2026-11-23": "sent", "2027-06-10": "sent", "2027-07-20": "sent",
               "2027-08-20": "sent", "2026-11-24": "pending", "2026-11-25": "maybe_sent"}
    with session_scope(db) as session:
        lena = session.exec(select(Person).where(Person.phone == LENA)).one()
        for day, status in written.items():
            at = datetime.fromisoformat(f"{day}T09:00:00+01:00")
            row = enqueue_row(session, dedupe_key=f"year:{day}", kind=MessageKind.REPLY,
                              recipient_id=lena.id, channel="sms", language="sv",
                              text=f"Registrerat {day}, sjuk.", now=at,
                              attachment={"chart": {"days": [day]}})
            assert row is not None and row.id is not None
            if status == "sent":
                mark_sent(session, row.id, now=at, provider_ref="SM1")
            elif status == "maybe_sent":
                mark_maybe_sent(session, row, error="timed out")

    def texts() -> dict[str, tuple[str, bool]]:
        with Session(db) as session:
            return {m.dedupe_key[5:]: (m.text, m.attachment is not None) for m in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("year:")))}

    cleared: dict[str, date] = {}
    today = date(2026, 11, 23)
    while today <= date(2028, 8, 15):
        with session_scope(db) as session:
            purge_message_texts(session, datetime.combine(today, time(12), tzinfo=STOCKHOLM))
        for key, (text, pictured) in texts().items():
            if key not in cleared and not text:
                assert not pictured, key
                cleared[key] = today
        today += timedelta(days=1)
    assert cleared == {"2026-11-23": date(2027, 7, 12), "2027-06-10": date(2027, 7, 12),
                       "2027-07-20": date(2027, 8, 20), "2027-08-20": date(2028, 7, 31)}
    assert texts()["2026-11-24"] == ("Registrerat 2026-11-24, sjuk.", True)
    assert texts()["2026-11-25"][0] == "Registrerat 2026-11-25, sjuk."
    with Session(db) as session:
        purges = session.exec(select(AuditLog).where(
            AuditLog.action == "outbox.texts_purged")).all()
    assert sum(row.detail["count"] for row in purges) >= 4


def test_a_formula_for_a_name_is_refused_and_a_note_comes_out_as_data(
    db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """CSV injection: "=cmd|…" as a guardian's name is refused with its line (nothing is
    imported); a note written that way comes out of the export as a JSON string."""
    from tests.rosters import students, write

    evil = students("Norrskolan,7A,N009,Ida Berg,sv,,no,=cmd|' /C calc'!A0,0701234599,sv,")
    capsys.readouterr()
    assert main(["roster", "import", "--students", write(tmp_path, "evil.csv", evil)]) == 2
    assert "students.csv:2: guardian_name starts with = (a spreadsheet formula" in (
        capsys.readouterr().err.replace(str(tmp_path / "evil.csv"), "students.csv"))
    with Session(db) as session:
        assert session.exec(select(Person).where(Person.phone == "+46701234599")).first() is None
    report_with_note(db, OMAR, None, "=HYPERLINK(\"http://x\")", "08:00")
    data = run(capsys, "export", "--guardian", OMAR)
    [report] = data["students"][0]["reports"]
    assert report["note"] == "=HYPERLINK(\"http://x\")"


def test_a_look_at_a_running_plan_is_audited(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anna opens Vera's running plan with /plan: a plan.view row after plan.start."""
    assert main(["plan", "start", "--student", "N006"]) == 0
    assert "Vera" in say(db, MENTOR_PHONE, "/plan Vera", MONDAY.format("09:00:00"))
    trail = run(capsys, "audit", "list", "--student", "N006", "--action", "plan.", "--json")
    assert [row["action"] for row in trail] == ["plan.start", "plan.view"]
