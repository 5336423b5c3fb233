"""Leave applications: the rules (who decides, escalation, the words that ask, how each
plan counts granted leave), and the whole path in the chat, in process: Omar applies for
Ali, the principal decides day by day with the national exam shown, Omar is told, the roll
call, the notices and the ladder treat the days as decided; the command line; escalation;
export, forget and retention. The transcript roster (tests/telegram_harness.py); Monday 23
November 2026 in Stockholm, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from policy.calendar import SchoolCalendar
from policy.ladder import Counting, Record, counters, load_ladder
from policy.leave import (
    LeaveRules,
    decider_role,
    escalation_due,
    is_leave_request,
    rules_for,
)
from storage.db import make_engine
from storage.models import (
    Absence,
    AuditLog,
    LadderPosition,
    LeaveApplication,
    LeaveDay,
    OutboxMessage,
    Person,
    StaffTask,
    Student,
)
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, import_roster
from tests.test_return_plans import Shown, answer, tick, to
from tests.test_trust_data import run

OMAR, LENA, KARI, JOHN = "+46701234502", "+46701234501", "+4741234503", "+447911123456"
PRINCIPAL = "+46701112234"
MONDAY = "2026-11-23T{}+01:00"
APPLICATION = "Kan Ali vara ledig 1–3 december? Vi ska på bröllop i Göteborg"
DEC = {1: date(2026, 12, 1), 2: date(2026, 12, 2), 3: date(2026, 12, 3)}


@pytest.mark.parametrize("text", [
    "Kan Elsa vara ledig 15–19 mars? Vi ska till mormor i Umeå",
    "Can Ali have leave 3–5 May for a family wedding",
    "Søknad om permisjon for Noor 3.–5. mai",
    "Ansøgning om fri til Emil 3.–5. maj",
    "Får Ali ledigt på fredag?",
])
def test_words_that_ask_for_leave(text: str) -> None:
    """Applications in Swedish, English, Norwegian and Danish are read as such."""
    assert is_leave_request(text)


@pytest.mark.parametrize("text", [
    "Ali sjuk idag", "Ali är ledig idag", "Noor har fri i dag", "Adam sick Mon-Wed",
    "Ali is off sick, can you tell the teacher?", "Kan Ali vara hemma idag? Han är sjuk",
])
def test_words_that_report_an_absence_are_no_application(text: str) -> None:
    """A report (even one with "ledig" or a question) stays a report."""
    assert not is_leave_request(text)


def test_who_decides_and_when_it_moves_up() -> None:
    """Up to the school's limit the mentor, longer the principal; an unanswered one moves
    after the set number of school days (a weekend not counted); a school's own setting
    wins over the country's default."""
    rules = rules_for("SE")
    assert (decider_role(1, rules), decider_role(2, rules), decider_role(3, rules)) == (
        "mentor", "mentor", "principal")
    assert decider_role(1, LeaveRules(mentor_max_days=0)) == "principal"
    own = rules_for("NO", {"leave": {"mentor_max_days": 4, "escalate_after_days": 1}})
    assert (own.mentor_max_days, own.escalate_after_days) == (4, 1)
    calendar = SchoolCalendar("SE")
    friday = date(2026, 11, 27)
    assert not escalation_due(friday, date(2026, 11, 30), calendar, rules)  # Monday: 1
    assert escalation_due(friday, date(2026, 12, 1), calendar, rules)  # Tuesday: 2


def test_each_plan_says_how_granted_leave_counts() -> None:
    """Ljusnarsberg counts unexcused occasions and asks a certificate for long absence:
    leave is not counted; the other four count all absence: leave is absence, never
    unexcused."""
    expected = {"ljusnarsberg": "none", "bengtsfors": "absence", "norway-example": "absence",
                "denmark": "absence", "lyngen": "absence"}
    for name, how in expected.items():
        assert load_ladder(name).counting.leave == how, name
    calendar = SchoolCalendar("SE")
    records = [Record(date(2026, 11, 23), "absent", "leave"),
               Record(date(2026, 11, 24), "absent", "leave"),
               Record(date(2026, 11, 25), "absent", "unexcused")]
    today = date(2026, 11, 25)
    counted = counters(records, calendar, today, counting=Counting(leave="absence"))
    ignored = counters(records, calendar, today, counting=Counting(leave="none"))
    assert counted["unexcused_occasions"] == ignored["unexcused_occasions"] == 1
    assert (counted["absence_occasions"], ignored["absence_occasions"]) == (1, 1)
    assert (counted["continuous_days"], ignored["continuous_days"]) == (3, 1)
    assert round(counted["absence_percent"] / ignored["absence_percent"]) == 3
    assert counted["continuous_reported_days"] == 0  # leave is no guardian's report


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The roster, a phone for the school, a national exam on Wednesday 2 December."""
    monkeypatch.setenv("NARVARO_CLOCK_START", MONDAY.format("07:00:00"))
    import_roster(tmp_path)
    assert main(["school", "set", "Norrskolan", "--phone", "+46701740000"]) == 0
    assert main(["calendar", "import", write(
        tmp_path, "calendar.csv", "school,kind,name,start,end\n"
        "Norrskolan,exam,Nationellt prov i matematik,2026-12-02,2026-12-02\n")]) == 0
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def tap(db: Engine, phone: str, shown: Shown | OutboxMessage, index: int, when: str) -> Shown:
    """Tap the `index`-th button of a message."""
    choices = shown.choices or []
    return answer(db, phone, "", when, choices[index]["key"])


def roll_call(tmp_path: Path, day: str, *rows: str,
              monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """The day's roll call through the real command (at 08:20 that day)."""
    if monkeypatch is not None:
        monkeypatch.setenv("NARVARO_CLOCK_START", f"{day}T08:20:00+01:00")
    path = write(tmp_path, f"roll-{day}.csv", "date,student_id,status,lesson_start,"
                 "lesson_end,minutes_late\n" + "".join(f"{day},{row},absent,,,\n" for row in rows))
    assert main(["attendance", "import", path]) == 0


def absences(db: Engine, external_id: str) -> dict[date, str]:
    """A student's absences' states by day."""
    with Session(db) as session:
        return dict(session.exec(select(col(Absence.day), col(Absence.state)).join(
            Student, col(Student.id) == Absence.student_id).where(
            Student.external_id == external_id)).all())


def test_apply_decide_day_by_day_and_the_days_count_as_decided(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three days is over the mentor's two: the principal gets it with the national exam
    in the period; she grants two days and refuses the exam day; Omar is told. The roll
    call marks Ali absent all three days: no notice for the granted days, one for the
    refused day; the ladder (Ljusnarsberg: leave not counted) sees one unexcused
    occasion."""
    receipt = answer(db, OMAR, APPLICATION, MONDAY.format("18:00:00"))
    assert "L-" in receipt.text and "3" in receipt.text
    with Session(db) as session:
        [application] = session.exec(select(LeaveApplication)).all()
        principal = session.exec(select(Person).where(Person.phone == PRINCIPAL)).one()
        assert (application.decider_id, application.decider_role) == (principal.id,
                                                                      "principal")
        assert application.note == APPLICATION
        days = session.exec(select(col(LeaveDay.day)).order_by(col(LeaveDay.day))).all()
        assert list(days) == [DEC[1], DEC[2], DEC[3]]
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "leave_decision"))
        assert task.assignee_id == principal.id
    assert to(db, MENTOR_PHONE, "leave:") == []
    [sent] = to(db, PRINCIPAL, "leave:apply:")
    assert application.reference in sent.text and "Nationellt prov i matematik" in sent.text
    assert "Vi ska på bröllop i Göteborg" in sent.text  # the decider reads the words
    assert "Ali Hassan (7A)" in sent.text
    assert [c["key"].split(":")[1] for c in sent.choices or []] == [
        "grant", "refuse", "days", "ask"]
    for guardian in (OMAR, LENA):  # the words go to no guardian, nor the mentor
        assert all("bröllop" not in m.text for m in to(db, guardian, "")
                   if not m.dedupe_key.startswith("reply:"))

    when = MONDAY.format("19:{:02d}:00")
    first = tap(db, PRINCIPAL, sent, 2, when.format(0))  # Choose days
    assert "1 " in first.text and len(first.choices or []) == 4
    second = tap(db, PRINCIPAL, first, 0, when.format(1))  # grant 1 Dec
    assert "Nationellt prov i matematik" in second.text  # 2 Dec is the exam day
    third = tap(db, PRINCIPAL, second, 1, when.format(2))  # refuse 2 Dec
    why = tap(db, PRINCIPAL, third, 0, when.format(3))  # grant 3 Dec
    assert [c["key"].split(":")[-1] for c in why.choices or []] == ["exam", "tests",
                                                                    "absence"]
    done = tap(db, PRINCIPAL, why, 0, when.format(4))
    assert application.reference in done.text
    [told] = to(db, OMAR, "leave:decision:")
    assert application.reference in told.text and "bröllop" not in told.text
    with Session(db) as session:
        decided = session.exec(select(col(LeaveDay.day), col(LeaveDay.decision)).order_by(
            col(LeaveDay.day))).all()
        assert list(decided) == [(DEC[1], "granted"), (DEC[2], "refused"),
                                 (DEC[3], "granted")]
        [application] = session.exec(select(LeaveApplication)).all()
        assert (application.status, application.refusal) == ("decided", "exam")
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "leave_decision"))
        assert (task.status, task.outcome) == ("done", "partly")
        trail = session.exec(select(AuditLog).where(
            col(AuditLog.action).startswith("leave."))).all()
        assert [row.action for row in trail] == ["leave.apply", "leave.decide"]
        assert trail[1].detail["granted"] == 2 and trail[1].detail["refused"] == 1
        assert "bröllop" not in json.dumps([row.detail for row in trail])
    # A second tap on an old button decides nothing more.
    again = tap(db, PRINCIPAL, sent, 0, when.format(5))
    assert to(db, OMAR, "leave:decision:") == [told] and "L-" not in again.text

    for day in (1, 2, 3):
        roll_call(tmp_path, f"2026-12-0{day}", "N001", monkeypatch=monkeypatch)
        tick(f"2026-12-0{day}T08:50:00+01:00")
    notices = to(db, OMAR, "absence-notice:")
    assert [m.dedupe_key.split(":")[2] for m in notices] == ["2026-12-02"]
    assert [m.dedupe_key.split(":")[2] for m in to(db, MENTOR_PHONE, "call-home:")] == [
        "2026-12-02"]
    assert absences(db, "N001") == {DEC[1]: "leave", DEC[2]: "unexcused", DEC[3]: "leave"}
    with Session(db) as session:
        ali = session.exec(select(Student).where(Student.external_id == "N001")).one()
        position = session.get(LadderPosition, ali.id)
        assert position is not None and position.step_id == "s1"
    rows = run(capsys, "absences", "list", "--student", "N001", "--state", "leave", "--json")
    assert sorted(row["date"] for row in rows) == ["2026-12-01", "2026-12-03"]


def test_a_roll_call_before_the_decision_and_the_command_line(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two days: the mentor decides. The roll call comes first and the day's notice waits
    for the cutoff; the office records the grant with `narvaro leave decide` before it:
    the absence is leave, no notice goes. `leave list` shows it; every decision is
    audited."""
    answer(db, KARI, "Søknad om permisjon for Noor 24.–25. november, vi skal i begravelse",
           MONDAY.format("07:10:00"))
    [application] = run(capsys, "leave", "list", "--json")
    assert (application["student_id"], application["decider_role"], application["pending"]) == (
        "N003", "mentor", ["2026-11-24", "2026-11-25"])
    assert "begravelse" not in json.dumps(application)
    [sent] = to(db, MENTOR_PHONE, "leave:apply:")
    assert application["reference"] in sent.text
    roll_call(tmp_path, "2026-11-24", "N003", monkeypatch=monkeypatch)
    reference = application["reference"]
    capsys.readouterr()
    assert main(["leave", "decide", reference, "--grant", "2026-11-25"]) == 0
    assert main(["leave", "decide", reference, "--grant", "2026-11-26"]) == 2  # not its day
    assert main(["leave", "decide", reference, "--refuse", "2026-11-24"]) == 2  # no reason
    assert main(["leave", "decide", reference, "--grant", "2026-11-24"]) == 0
    assert main(["leave", "decide", reference, "--grant-all"]) == 2  # nothing left
    tick("2026-11-24T08:50:00+01:00")
    assert to(db, KARI, "absence-notice:") == []
    assert absences(db, "N003") == {date(2026, 11, 24): "leave"}
    told = to(db, KARI, "leave:decision:")
    assert len(told) == 2 and all(reference in m.text for m in told)
    [row] = run(capsys, "leave", "list", "--status", "decided", "--json")
    assert row["granted"] == ["2026-11-24", "2026-11-25"]
    trail = run(capsys, "audit", "list", "--action", "leave.", "--json")
    assert [(r["actor"], r["action"]) for r in trail] == [
        (trail[0]["actor"], "leave.apply"), ("cli", "leave.decide"), ("cli", "leave.decide")]


def test_an_unanswered_application_goes_to_the_principal(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A day's leave is the mentor's; it is in her morning list the next school day, and
    after two school days unanswered it goes to the principal (once), the mentor is
    told, and her button no longer decides it."""
    answer(db, JOHN, "Can Adam have leave on 4 December for a family wedding?",
           MONDAY.format("17:00:00"))
    [sent] = to(db, MENTOR_PHONE, "leave:apply:")
    tick("2026-11-24T08:05:00+01:00")
    [digest] = to(db, MENTOR_PHONE, "digest:")
    assert "Adam Smith (7A)" in digest.text
    tick("2026-11-24T16:00:00+01:00")
    assert to(db, PRINCIPAL, "leave:") == []
    tick("2026-11-25T08:10:00+01:00")
    tick("2026-11-25T08:20:00+01:00")
    [moved] = to(db, PRINCIPAL, "leave:escalated:")
    assert "Adam Smith (7A)" in moved.text and moved.choices
    assert len(to(db, MENTOR_PHONE, "leave:moved:")) == 1
    late = tap(db, MENTOR_PHONE, sent, 0, "2026-11-25T09:00:00+01:00")
    assert "L-" not in late.text
    # A refusal's reason from a dialog long forgotten decides nothing: the choice again.
    stale = answer(db, PRINCIPAL, "", "2026-11-25T09:00:30+01:00",
                   f"leave:why:{(moved.choices or [])[0]['key'].split(':')[2]}:exam")
    assert "Adam Smith (7A)" in stale.text and len(stale.choices or []) == 3
    tap(db, PRINCIPAL, moved, 0, "2026-11-25T09:01:00+01:00")
    [row] = run(capsys, "leave", "list", "--json")
    assert (row["status"], row["decider_role"], row["granted"]) == (
        "decided", "principal", ["2026-12-04"])
    with Session(db) as session:
        outcomes = session.exec(select(StaffTask.outcome).where(
            StaffTask.kind == "leave_decision").order_by(col(StaffTask.id))).all()
    assert list(outcomes) == ["escalated", "granted"]


def test_the_application_asks_what_is_missing_and_the_decider_asks_a_question(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """From the menu: for whom (Lena has two children: both), which days, why. The
    principal asks a question; Lena's answer comes back to her with the buttons."""
    when = MONDAY.format("10:{:02d}:00")
    who = answer(db, LENA, "", when.format(0), "menu:leave")
    assert len(who.choices or []) == 3  # Ali, Sara, all of them
    days = tap(db, LENA, who, 2, when.format(1))
    why = answer(db, LENA, "7/12-11/12", when.format(2))
    assert not why.choices
    receipt = answer(db, LENA, "Vi hälsar på släkten i Somalia", when.format(3))
    assert receipt.text.count("L-") == 2 and days.text
    rows = run(capsys, "leave", "list", "--json")
    assert sorted(row["student_id"] for row in rows) == ["N001", "N002"]
    assert all(len(row["pending"]) == 5 for row in rows)
    sent = to(db, PRINCIPAL, "leave:apply:")
    assert len(sent) == 2
    ask = tap(db, PRINCIPAL, sent[0], 3, when.format(4))
    assert not ask.choices
    answer(db, PRINCIPAL, "Kan Ali göra proven i efterhand?", when.format(5))
    [question] = to(db, LENA, "leave:question:")
    assert "Kan Ali göra proven i efterhand?" in question.text
    thanks = answer(db, LENA, "Ja, det går bra", when.format(6))
    assert thanks.text
    [back] = to(db, PRINCIPAL, "leave:answer:")
    assert "Ja, det går bra" in back.text and len(back.choices or []) == 4
    # Asked again, Lena reports Sara sick instead: a report, not an answer.
    answer(db, PRINCIPAL, "", when.format(7), (back.choices or [])[3]["key"])
    answer(db, PRINCIPAL, "Gäller det hela veckan?", when.format(8))
    report = answer(db, LENA, "Sara sjuk idag", when.format(9))
    assert "R-" in report.text
    assert len(to(db, PRINCIPAL, "leave:answer:")) == 1


def test_export_forget_and_retention_cover_the_application_note(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Omar's words are in his export (not Lena's); after `forget` they are nowhere, the
    decider's message included; another application's words go at the retention's end."""
    answer(db, OMAR, APPLICATION, MONDAY.format("18:00:00"))
    answer(db, KARI, "Søknad om permisjon for Noor 24.–25. november, vi skal i begravelse",
           MONDAY.format("18:01:00"))
    export = run(capsys, "export", "--guardian", OMAR)
    [application] = export["students"][0]["leave_applications"]
    assert application["note"] == APPLICATION and application["by_you"]
    lena = run(capsys, "export", "--guardian", LENA)
    ali = next(s for s in lena["students"] if s["student_id"] == "N001")
    assert ali["leave_applications"][0]["note"] is None
    assert main(["forget", "--guardian", OMAR]) == 0
    with Session(db) as session:
        texts = [m.text for m in session.exec(select(OutboxMessage))]
        notes = list(session.exec(select(LeaveApplication.note).order_by(
            col(LeaveApplication.id))).all())
    assert all("bröllop" not in text for text in texts)
    omars, karis = notes
    assert omars is None and "begravelse" in (karis or "")
    tick("2027-08-01T12:00:00+02:00")  # the school year's end plus 30 days has passed
    with Session(db) as session:
        assert session.exec(select(LeaveApplication.note).where(
            col(LeaveApplication.note).is_not(None))).all() == []
        assert session.exec(select(AuditLog).where(
            AuditLog.action == "leave.notes_purged")).first() is not None


def test_calendar_events_are_no_days_off(db: Engine) -> None:
    """The national exam day stays a school day."""
    with Session(db) as session:
        from storage.models import School
        from storage.schools import school_calendar
        school = session.exec(select(School)).one()
        assert school_calendar(session, school).is_school_day(DEC[2])



@pytest.mark.parametrize(("phone", "text", "receipt"), [
    (OMAR, "Kan Ali vara ledig 1–3 december? Vi ska på bröllop", "Ansökan skickad: ledighet "
     "för Ali, tis 1 dec. – tors 3 dec (3 skoldagar)."),
    (KARI, "Søknad om permisjon for Noor 1.–3. desember, vi skal i bryllup", "Søknaden er "
     "sendt: permisjon for Noor, tir. 1. des. – tor. 3. des (3 skoledager)."),
    ("+4520123404", "Ansøgning om fri til Emil 1.–3. december, vi skal til bryllup",
     "Ansøgningen er sendt: fri til Emil, tirs. 1. dec. – tors. 3. dec (3 skoledage)."),
    (JOHN, "Can Adam have leave 1–3 December for a family wedding", "Application sent: "
     "leave for Adam, Tue, Dec 1 – Thu, Dec 3 (3 school days)."),
    ("+46701234506", "Kan jag vara ledig 1–3 december? Jag ska på bröllop", "Ansökan "
     "skickad: ledighet för Vera, tis 1 dec. – tors 3 dec (3 skoldagar)."),
])
def test_an_application_in_each_language_and_by_an_adult_student(
    db: Engine, phone: str, text: str, receipt: str
) -> None:
    """One message says who and which days: applied at once, the receipt in the writer's
    language; an adult student applies for themselves."""
    shown = answer(db, phone, text, MONDAY.format("17:30:00"))
    assert shown.text.startswith(receipt), shown.text
    with Session(db) as session:
        [application] = session.exec(select(LeaveApplication)).all()
        assert application.note == text


def test_part_of_a_day_is_leave_for_the_lessons_in_it(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leave granted for 10:00–12:00: a lesson then is leave, one at 08:15 is not (its
    notice goes out)."""
    answer(db, OMAR, "Kan Ali vara ledig 1/12 10:00–12:00? Han spelar på en konsert",
           MONDAY.format("17:30:00"))
    [row] = run(capsys, "leave", "list", "--json")
    assert (row["part"], row["pending"], row["decider_role"]) == (
        "10:00-12:00", ["2026-12-01"], "mentor")
    assert main(["leave", "decide", row["reference"], "--grant-all"]) == 0
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-12-01T12:20:00+01:00")
    path = write(tmp_path, "lessons.csv", "date,student_id,status,lesson_start,lesson_end,"
                 "minutes_late\n2026-12-01,N001,absent,08:15,09:00,\n"
                 "2026-12-01,N001,absent,10:00,11:00,\n")
    assert main(["attendance", "import", path]) == 0
    with Session(db) as session:
        found = dict(session.exec(select(col(Absence.slot), col(Absence.state))).all())
    assert found == {"08:15": "open", "10:00": "leave"}
    tick("2026-12-01T12:30:00+01:00")
    assert len(to(db, OMAR, "absence-notice:")) == 1


def test_the_mentors_morning_summary_names_the_students_on_leave_today(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Noor's two days are granted, Ali's day still waits for the principal: on Tuesday at
    07:45 Anna's summary names Noor under leave, in Swedish, without the family's words;
    Ali is not there, and on Thursday, after the leave, nobody is."""
    answer(db, KARI, "Søknad om permisjon for Noor 24.–25. november, vi skal i begravelse",
           MONDAY.format("07:10:00"))
    answer(db, OMAR, "Kan Ali vara ledig 24 november–2 december? Vi ska på bröllop",
           MONDAY.format("07:20:00"))
    ali, noor = sorted(run(capsys, "leave", "list", "--json"),
                       key=lambda row: row["student_id"])
    assert (ali["student_id"], ali["decider_role"], noor["student_id"]) == (
        "N001", "principal", "N003")
    assert main(["leave", "decide", noor["reference"], "--grant-all"]) == 0
    tick("2026-11-24T07:45:00+01:00")
    [summary] = to(db, MENTOR_PHONE, "mentor-summary:")
    assert summary.text.splitlines() == ["Beviljad ledighet idag:", "• Noor Berg (7A)"]
    assert "begravelse" not in summary.text and "bröllop" not in summary.text
    tick("2026-11-26T07:45:00+01:00")
    assert to(db, MENTOR_PHONE, "mentor-summary:") == [summary]
