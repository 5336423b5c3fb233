"""Scripted terms for the Bengtsfors and Norwegian example ladders, through `narvaro tick`.

Each test switches Norrskolan (the transcript roster) to a preset and plays a term of roll
call for Noor (7A) with the real commands: `attendance import` each morning, a guardian's
report through the service every report path ends in, and `tick --now` on the days that
matter. Checked: the step Noor is on, the (step, kind, owner, due) of every task the ladder
created (once, however often the scheduler runs), that a task reaches its owner on the day
it is due and not before, and what happens when corrections take absences back. Nudges
made in the same sweep are compared as sets (the sweep reads them in no set order).

* Bengtsfors, by occasions (autumn 2026, no terms configured): an unexcused Monday is the
  1st rung (the same-day call came with the notice: not a second one); three reported days
  in a row the 2nd; the 5th occasion the meeting and the plan (the follow-up meeting waits
  until that meeting is held); the 6th the principal's LEH rung; corrections take Noor back
  down, and as nothing recurring stops the mentor is not told.
* Bengtsfors, by percent (a term from Monday 2 November): 2 absent days of 12 (> 10 %) call
  the meeting; > 20 % the principal's rung; > 30 % the weekly contact, which comes again a
  week on and stops (the mentor is told) when corrections take the share below 30 %.
* Norway example: a single lesson is a call home within a week (08:00 in Oslo, a week
  later); the 3rd occasion the conversation; two weeks in that step the follow-up meeting
  and the principal's tasks; corrections take Noor back to the first step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.cli import main
from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from policy.presets import load_policy
from policy.reporting import check_report_days
from storage.db import make_engine, session_scope
from storage.models import LadderPosition, OutboxMessage, Person, School, StaffTask, Student
from storage.reports import save_report
from storage.schools import school_calendar
from tests.rosters import write
from tests.telegram_harness import import_roster

NOOR, KARI = "N003", "+4741234503"
ANNA, RUT = "Anna Mentor", "Rut Rektor"
#: (step, kind, owner, due as local "YYYY-MM-DD HH:MM") of a task the ladder created.
Made = tuple[str, str, str, str]


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The transcript roster (Norrskolan, Noor in 7A with her mentor Anna, Rut the principal)."""
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def at(day: str, clock: str) -> str:
    """An instant in Stockholm and Oslo (both +01:00 in November and December)."""
    return f"{day}T{clock}:00+01:00"


def roll_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str,
              *rows: tuple[str, str] | tuple[str, str, str, str]) -> None:
    """Import Noor's roll call at `when`: rows of (day, status) or (day, status, from, to)."""
    monkeypatch.setenv("NARVARO_CLOCK_START", when)
    lines = [f"{row[0]},{NOOR},{row[1]},{row[2] if len(row) == 4 else ''},"
             f"{row[3] if len(row) == 4 else ''}," for row in rows]
    path = write(tmp_path, f"roll-{when[:16].replace(':', '')}.csv",
                 "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
                 + "\n".join(lines) + "\n")
    assert main(["attendance", "import", path]) == 0


def report_sick(db: Engine, day: str, when: str) -> None:
    """Kari reports Noor sick for `day`, at `when`, on time (what the chat and SMS end in)."""
    now = datetime.fromisoformat(when)
    with session_scope(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == NOOR)).one()
        kari = session.exec(select(Person).where(Person.phone == KARI)).one()
        school = session.get(School, noor.school_id)
        assert school is not None
        days = check_report_days(
            school_calendar(session, school), load_policy(school.policy),
            first=date.fromisoformat(day), last=date.fromisoformat(day),
            today=now.astimezone(ZoneInfo(school.timezone)).date())
        assert days.problem is None and not days.late_days
        save_report(session, student=noor, reporter=kari, channel="sms", days=days,
                    reason="sick", note=None, now=now)


def tick(now: str) -> None:
    """`narvaro tick --now …`."""
    assert main(["tick", "--now", now]) == 0


def step_of(db: Engine) -> str | None:
    """Noor's step on the ladder."""
    with Session(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == NOOR)).one()
        position = session.get(LadderPosition, noor.id)
        return position.step_id if position else None


def _zone(session: Session) -> ZoneInfo:
    school = session.exec(select(School).where(School.name == "Norrskolan")).one()
    return ZoneInfo(school.timezone)


def _made(session: Session, task: StaffTask, zone: ZoneInfo) -> Made:
    owner = session.get(Person, task.assignee_id)
    assert owner is not None
    step = task.dedupe_key.split(":")[2]
    return step, task.kind, owner.name, f"{task.due_at.astimezone(zone):%Y-%m-%d %H:%M}"


def ladder_tasks(db: Engine) -> list[Made]:
    """Every task the ladder created, oldest first."""
    with Session(db) as session:
        zone = _zone(session)
        return [_made(session, task, zone) for task in session.exec(
            select(StaffTask).where(col(StaffTask.dedupe_key).startswith("ladder:"))
            .order_by(col(StaffTask.id)))]


def nudged(db: Engine) -> list[tuple[Made, str]]:
    """Each ladder task sent to someone, with whom it went to, oldest first."""
    with Session(db) as session:
        zone = _zone(session)
        found = []
        for message in session.exec(select(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith("nudge:")).order_by(
                col(OutboxMessage.id))):
            task = session.get(StaffTask, int(message.dedupe_key.split(":")[1]))
            recipient = session.get(Person, message.recipient_id)
            assert task is not None and recipient is not None
            found.append((_made(session, task, zone), recipient.name))
        return found


def nudge_text(db: Engine, kind: str) -> str:
    """The text of the (first) nudge about a ladder task of `kind`."""
    return nudge_message(db, kind).text


def nudge_message(db: Engine, kind: str) -> OutboxMessage:
    """The first nudge about a ladder task of `kind`."""
    with Session(db) as session:
        for message in session.exec(select(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith("nudge:")).order_by(
                col(OutboxMessage.id))):
            task = session.get(StaffTask, int(message.dedupe_key.split(":")[1]))
            if task is not None and task.kind == kind:
                return message
    raise AssertionError(f"no nudge about a {kind} task")


def letters(db: Engine) -> list[tuple[str, str]]:
    """("step:letter", text) of every letter the ladder queued, oldest first."""
    with Session(db) as session:
        return [(":".join(m.dedupe_key.split(":")[2:4]), m.text) for m in session.exec(
            select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("letter:"))
            .order_by(col(OutboxMessage.id)))]


def rows(db: Engine) -> tuple[int, int]:
    """How many staff tasks and outbox messages there are."""
    with Session(db) as session:
        return (session.exec(select(func.count()).select_from(StaffTask)).one(),
                session.exec(select(func.count()).select_from(OutboxMessage)).one())


def calls_home(db: Engine) -> list[str]:
    """The dedupe keys of every call-home task (the notice's and the ladder's)."""
    with Session(db) as session:
        return [task.dedupe_key for task in session.exec(
            select(StaffTask).where(StaffTask.kind == "call_home").order_by(col(StaffTask.id)))]


def ladder_rows(db: Engine) -> tuple[int, int, int]:
    """How many ladder tasks, nudges and "no longer meets the step" messages there are."""
    with Session(db) as session:
        return (
            session.exec(select(func.count()).select_from(StaffTask).where(
                col(StaffTask.dedupe_key).startswith("ladder:"))).one(),
            session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith("nudge:"))).one(),
            session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith("ladder-left:"))).one(),
        )


def left_messages(db: Engine) -> list[OutboxMessage]:
    """"No longer meets the step" messages to mentors."""
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("ladder-left:"))))


def test_bengtsfors_by_occasions(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bengtsfors, autumn 2026: unexcused Monday (s1, one call), reported Wed–Fri (s2), the
    5th and 6th occasions (s3 for the mentor, s4 for the principal); nudges on the due day;
    corrections take Noor down to s1 without a "left" message; re-entering adds nothing."""
    assert main(["school", "set", "Norrskolan", "--policy", "bengtsfors"]) == 0
    # Monday 2 November: absent, no report. The notice at the cutoff gives the same-day call;
    # the ladder adds only the talk at the next mentor time.
    roll_call(tmp_path, monkeypatch, at("2026-11-02", "08:20"), ("2026-11-02", "absent"))
    tick(at("2026-11-02", "08:46"))
    assert step_of(db) == "s1"
    assert ladder_tasks(db) == [("s1", "student_talk", ANNA, "2026-11-09 08:00")]
    assert [key.split(":")[0] for key in calls_home(db)] == ["call-home"]
    # Wednesday to Friday: reported sick each morning, then absent in the roll call.
    for day in ("2026-11-04", "2026-11-05", "2026-11-06"):
        report_sick(db, day, at(day, "07:40"))
        roll_call(tmp_path, monkeypatch, at(day, "08:20"), (day, "absent"))
        tick(at(day, "08:46"))
        assert step_of(db) == ("s2" if day == "2026-11-06" else "s1")
    assert ladder_tasks(db)[1:] == [
        ("s2", "call_home", ANNA, "2026-11-06 08:00"),
        ("s2", "student_talk", ANNA, "2026-11-13 08:00"),
    ]
    # The same-day contact reaches Anna at once; the first talk only on its day.
    assert nudged(db) == [(("s2", "call_home", ANNA, "2026-11-06 08:00"), ANNA)]
    assert nudge_text(db, "call_home").startswith("Kontakta myndig elev/vårdnadshavare")
    before = rows(db)
    tick(at("2026-11-06", "08:47"))
    assert rows(db) == before
    tick(at("2026-11-08", "20:00"))
    assert len(nudged(db)) == 1
    # Back at school on Monday: the episode holds s2 until the day has passed without
    # absence (no drop overnight, no second contact when the roll call comes).
    tick(at("2026-11-09", "08:05"))
    assert step_of(db) == "s2"
    assert nudged(db)[1:] == [(("s1", "student_talk", ANNA, "2026-11-09 08:00"), ANNA)]
    assert nudge_text(db, "student_talk").startswith("Samtala med eleven om frånvaron")
    tick(at("2026-11-10", "08:05"))
    assert step_of(db) == "s1"  # Monday passed at school: s2 left
    # Tuesday 10: three lessons missed apart, the 3rd to 5th occasions (s3); Wednesday 11:
    # a lesson again, the 6th (s4, the principal's).
    roll_call(tmp_path, monkeypatch, at("2026-11-10", "08:20"),
              ("2026-11-10", "absent", "08:15", "09:00"),
              ("2026-11-10", "absent", "10:00", "11:00"),
              ("2026-11-10", "absent", "13:00", "14:00"))
    tick(at("2026-11-10", "08:46"))
    tick(at("2026-11-10", "13:25"))
    assert step_of(db) == "s3"
    roll_call(tmp_path, monkeypatch, at("2026-11-11", "08:20"),
              ("2026-11-11", "absent", "08:15", "09:00"))
    tick(at("2026-11-11", "08:46"))
    assert step_of(db) == "s4"
    # Kari hears of it in Norwegian: invited at s3 and at s4, and told at s4 that a report to
    # social services may follow (each once, whatever the ticks).
    assert letters(db) == [
        ("s3:meeting_invitation", "Skolen ønsker å møte dere og Noor for å snakke om oppmøtet "
                                  "på skolen. Kontaktlæreren tar kontakt for å finne et "
                                  "tidspunkt."),
        ("s4:meeting_invitation", "Skolen ønsker å møte dere og Noor for å snakke om oppmøtet "
                                  "på skolen. Kontaktlæreren tar kontakt for å finne et "
                                  "tidspunkt."),
        ("s4:social_services_warning", "Fraværet til Noor er nå så høyt at skolen kan måtte "
                                       "kontakte barnevernet. Skolen ønsker å finne en vei "
                                       "videre sammen med dere; kontaktlæreren tar kontakt."),
    ]
    before = rows(db)
    tick(at("2026-11-11", "08:47"))
    assert rows(db) == before
    # "Vid varje tillfälle": the talk at the next mentor time for each unexcused occasion
    # (the calls came with the notices).
    assert [t for t in ladder_tasks(db) if t[0] == "s1"] == [
        ("s1", "student_talk", ANNA, "2026-11-09 08:00"),
        ("s1", "student_talk", ANNA, "2026-11-17 08:00"),
        ("s1", "student_talk", ANNA, "2026-11-18 08:00"),
    ]
    assert [t for t in ladder_tasks(db) if t[0] in ("s3", "s4")] == [
        ("s3", "meeting", ANNA, "2026-11-17 08:00"),
        ("s3", "plan", ANNA, "2026-11-17 08:00"),
        # (the follow-up meeting waits until the meeting is held: it is counted from then)
        ("s3", "other", ANNA, "2026-12-01 08:00"),
        ("s4", "health_team_meeting", RUT, "2026-11-18 08:00"),
        ("s4", "follow_up_meeting", RUT, "2026-11-18 08:00"),
        ("s4", "other", RUT, "2026-11-18 08:00"),
    ]
    assert len(calls_home(db)) == 4  # the notices' three (2, 10, 11 Nov) and s2's
    # The meeting and the plan reach Anna on Tuesday 17, the principal's on Wednesday 18.
    tick(at("2026-11-16", "15:00"))
    assert [made for made, _ in nudged(db)][2:] == [
        ("s2", "student_talk", ANNA, "2026-11-13 08:00")]  # (no sweep ran on Friday 13)
    tick(at("2026-11-17", "08:05"))
    assert sorted(n for n in nudged(db)[3:] if n[0][0] == "s3") == [
        (("s3", "meeting", ANNA, "2026-11-17 08:00"), ANNA),
        (("s3", "plan", ANNA, "2026-11-17 08:00"), ANNA)]
    assert nudge_text(db, "meeting").startswith("Kalla elev och vårdnadshavare till möte")
    # The meeting is held that day: the follow-up meeting is due within 3 weeks of it.
    meeting = nudge_message(db, "meeting")
    held = next(c for c in meeting.choices or [] if c["label"] == "Mötet är hållet")
    with session_scope(db) as session:
        [noted] = handle_incoming(session, Incoming(
            meeting.recipient_id or 0, "webchat", "held", "", held["key"]),
            now=datetime.fromisoformat(at("2026-11-17", "15:00")))
    assert noted.text == ("Noterat. Nästa steg i planen: Boka tid för uppföljningsmöte inom 3 "
                          "veckor, senast tis 8 dec.")
    assert ("s3", "follow_up_meeting", ANNA, "2026-12-08 08:00") in ladder_tasks(db)
    tick(at("2026-11-18", "08:05"))
    assert sorted(n for n in nudged(db) if n[0][0] == "s4") == [
        (("s4", "follow_up_meeting", RUT, "2026-11-18 08:00"), RUT),
        (("s4", "health_team_meeting", RUT, "2026-11-18 08:00"), RUT),
        (("s4", "other", RUT, "2026-11-18 08:00"), RUT),
    ]
    assert nudge_text(db, "health_team_meeting").startswith("Ärendet tas upp vid LEH")
    # Thursday 19: Noor was at school on 10 and 11 November after all. Down to s1 (one
    # unexcused occasion left, and the share far below 20 %); nothing of s3 or s4 recurs,
    # so the mentor is not told.
    ladder_before = ladder_rows(db)
    roll_call(tmp_path, monkeypatch, at("2026-11-19", "09:00"),
              ("2026-11-10", "present", "08:15", "09:00"),
              ("2026-11-10", "present", "10:00", "11:00"),
              ("2026-11-10", "present", "13:00", "14:00"),
              ("2026-11-11", "present", "08:15", "09:00"))
    tick(at("2026-11-19", "09:05"))
    assert step_of(db) == "s1"
    assert ladder_rows(db)[0] == ladder_before[0]  # no task more
    assert left_messages(db) == []
    # Friday 4 December: three lessons missed apart, the 5th occasion once more: s3, whose
    # tasks this term exist already.
    roll_call(tmp_path, monkeypatch, at("2026-12-04", "08:20"),
              ("2026-12-04", "absent", "08:15", "09:00"),
              ("2026-12-04", "absent", "10:00", "11:00"),
              ("2026-12-04", "absent", "13:00", "14:00"))
    tick(at("2026-12-04", "13:25"))
    assert step_of(db) == "s3"
    assert len([t for t in ladder_tasks(db) if t[0] in ("s3", "s4")]) == 7
    # (the s3 follow-up of the meeting held among them)


def test_bengtsfors_by_percent_with_a_weekly_contact(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bengtsfors, a term from Monday 2 November: absent from Monday 16 on. A share is taken
    over at least 20 school days, so each day absent adds 5 %: s1 (the unexcused occasion),
    s3 over 10 %, s4 over 20 %, s6 over 30 % on Tuesday 24; the weekly contact of s6 comes
    again a week on; a correction takes the share below 30 %: s6 holds ten school days below
    it, then the share's rung (s3), the mentor told once, the weekly contacts off."""
    assert main(["school", "set", "Norrskolan", "--policy", "bengtsfors"]) == 0
    assert main(["calendar", "import", write(
        tmp_path, "terms.csv", "school,kind,name,start,end\n"
        "Norrskolan,term,Period 2,2026-11-02,2026-12-18\n")]) == 0
    steps = []
    for day in ("2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20",
                "2026-11-23", "2026-11-24"):
        roll_call(tmp_path, monkeypatch, at(day, "08:20"), (day, "absent"))
        tick(at(day, "08:46"))
        steps.append(step_of(db))
    # (Monday 23: more than a school week in a row: s5, the certificate.)
    assert steps == ["s1", "s1", "s3", "s3", "s4", "s5", "s6"]
    assert [t for t in ladder_tasks(db) if t[0] == "s6"] == [
        ("s6", "inform_principal", ANNA, "2026-11-24 08:00"),
        ("s6", "student_talk", ANNA, "2026-12-01 08:00"),
        ("s6", "network_meeting", RUT, "2026-12-01 08:00"),
        ("s6", "other", RUT, "2026-12-01 08:00"),
    ]
    assert (("s6", "inform_principal", ANNA, "2026-11-24 08:00"), ANNA) in nudged(db)
    assert nudge_text(db, "inform_principal").startswith("Rapportera frånvaron till rektor")
    # One invitation per rung entered, and the principal's warning at s4: each once.
    assert [key for key, _text in letters(db)] == [
        "s3:meeting_invitation", "s4:meeting_invitation", "s4:social_services_warning",
        "s5:certificate_required", "s6:meeting_invitation"]
    # Back at school from Wednesday 25. Tuesday 1 December, a week after s6 began: the
    # week's tasks reach Anna and Rut, and the weekly contact is made once more.
    tick(at("2026-12-01", "09:00"))
    before = rows(db)
    tick(at("2026-12-01", "09:01"))
    assert rows(db) == before
    weekly = [t for t in ladder_tasks(db) if t[:2] == ("s6", "student_talk")]
    assert weekly == [("s6", "student_talk", ANNA, "2026-12-01 08:00"),
                      ("s6", "student_talk", ANNA, "2026-12-08 08:00")]
    assert sorted((made[1], whom) for made, whom in nudged(db) if made[3].startswith(
        "2026-12-01")) == [("network_meeting", RUT), ("other", RUT), ("student_talk", ANNA)]
    # Wednesday 2: Noor was at school on 23 and 24 November after all: 5 of 23 days (22 %).
    roll_call(tmp_path, monkeypatch, at("2026-12-02", "09:00"),
              ("2026-11-23", "present"), ("2026-11-24", "present"))
    tick(at("2026-12-02", "09:05"))
    assert step_of(db) == "s6"  # held while the share settles
    for day in ("2026-12-08", "2026-12-15"):
        tick(at(day, "09:00"))
        assert step_of(db) == "s6"
    assert left_messages(db) == []
    tick(at("2026-12-16", "09:00"))  # ten school days below 30 %: 5 of 33 days is 15 %
    assert step_of(db) == "s3"
    [told] = left_messages(db)
    tick(at("2026-12-16", "09:01"))
    assert len(left_messages(db)) == 1
    with Session(db) as session:
        anna = session.exec(select(Person).where(Person.name == ANNA)).one()
        assert told.recipient_id == anna.id
        assert told.text.startswith("Noor Berg (7A)")
        recurring = session.exec(select(StaffTask).where(
            col(StaffTask.dedupe_key).startswith("ladder:"),
            col(StaffTask.dedupe_key).contains(":s6:"),
            col(StaffTask.dedupe_key).contains(":r"),
            StaffTask.kind == "student_talk").order_by(col(StaffTask.id))).all()
    assert [(t.status, t.outcome) for t in recurring] == [("not_needed", "step_left")] * 3


def test_norway_example_lesson_call_then_conversation_then_follow_up(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Norway example, Oslo, autumn 2026: one lesson (s1: call home within a week), the 3rd
    occasion (s2: the conversation, within a week), two weeks later still absent (s3: the
    new meeting, the principal's tasks); each reaches its owner on its day, not before;
    corrections take Noor back to s1, and nothing recurring stops."""
    assert main(["school", "set", "Norrskolan", "--policy", "norway-example", "--country", "NO",
                 "--timezone", "Europe/Oslo", "--language", "nb"]) == 0
    # Monday 2 November: the 10:00 lesson, no report (unexcused at 10:20).
    roll_call(tmp_path, monkeypatch, at("2026-11-02", "10:10"),
              ("2026-11-02", "absent", "10:00", "10:45"))
    tick(at("2026-11-02", "10:25"))
    assert step_of(db) == "s1"
    # "Innen en uke": a week later, Monday 9 November, at 08:00 in Oslo.
    assert ladder_tasks(db) == [("s1", "call_home", ANNA, "2026-11-09 08:00")]
    with Session(db) as session:
        [call] = session.exec(select(StaffTask).where(
            col(StaffTask.dedupe_key).startswith("ladder:"))).all()
        assert call.due_at.astimezone(ZoneInfo("UTC")).isoformat() == "2026-11-09T07:00:00+00:00"
    # Wednesday 4: the whole day; Thursday 5: the 10:00 lesson. The 3rd occasion: s2.
    roll_call(tmp_path, monkeypatch, at("2026-11-04", "08:20"), ("2026-11-04", "absent"))
    tick(at("2026-11-04", "08:46"))
    assert step_of(db) == "s1"
    roll_call(tmp_path, monkeypatch, at("2026-11-05", "10:10"),
              ("2026-11-05", "absent", "10:00", "10:45"))
    tick(at("2026-11-05", "10:25"))
    assert step_of(db) == "s2"
    before = rows(db)
    tick(at("2026-11-05", "10:26"))
    assert rows(db) == before
    # Each time single lessons are missed, a call home within a week (Thursday's too).
    assert ladder_tasks(db)[1:] == [
        ("s2", "meeting", ANNA, "2026-11-12 08:00"),
        ("s2", "inform_principal", ANNA, "2026-11-12 08:00"),
        ("s2", "other", ANNA, "2026-11-12 08:00"),
        ("s1", "call_home", ANNA, "2026-11-12 08:00"),
    ]
    # The call reaches Anna on Monday 9, not on Sunday; the s2 tasks on Thursday 12.
    tick(at("2026-11-08", "20:00"))
    assert nudged(db) == []
    tick(at("2026-11-09", "08:05"))
    assert nudged(db) == [(("s1", "call_home", ANNA, "2026-11-09 08:00"), ANNA)]
    assert nudge_text(db, "call_home").startswith("Kontakte hjemmet og drøfte fraværet")
    tick(at("2026-11-11", "15:00"))
    assert len(nudged(db)) == 1
    tick(at("2026-11-12", "08:05"))
    assert sorted((made[1], whom) for made, whom in nudged(db)[1:]) == [
        ("call_home", ANNA), ("inform_principal", ANNA), ("meeting", ANNA), ("other", ANNA)]
    assert nudge_text(db, "meeting").startswith("Samtale med elev og foreldre")
    # No improvement: absent on Tuesday 17. Still s2 on Wednesday 18 (9 school days in it).
    roll_call(tmp_path, monkeypatch, at("2026-11-17", "08:20"), ("2026-11-17", "absent"))
    tick(at("2026-11-17", "08:46"))
    tick(at("2026-11-18", "15:00"))
    assert step_of(db) == "s2"
    # Thursday 19, two school weeks after s2 began, and the absence since no better than
    # before: s3, the principal's tasks to Rut.
    tick(at("2026-11-19", "10:30"))
    assert step_of(db) == "s3"
    before = rows(db)
    tick(at("2026-11-19", "10:31"))
    assert rows(db) == before
    assert ladder_tasks(db)[5:] == [
        ("s3", "follow_up_meeting", ANNA, "2026-11-26 08:00"),
        ("s3", "external_help", RUT, "2026-11-26 08:00"),
        ("s3", "network_meeting", RUT, "2026-12-10 08:00"),
    ]
    tick(at("2026-11-25", "15:00"))
    assert len(nudged(db)) == 5
    tick(at("2026-11-26", "08:05"))
    assert sorted(nudged(db)[5:]) == [
        (("s3", "external_help", RUT, "2026-11-26 08:00"), RUT),
        (("s3", "follow_up_meeting", ANNA, "2026-11-26 08:00"), ANNA),
    ]
    assert nudge_text(db, "external_help").startswith("I møtet avklares om det er behov")
    # Friday 27: Noor was at school on 4 and 17 November after all: two occasions, both
    # single lessons. Down to s1; nothing of s3 recurs, so the mentor is not told.
    ladder_before = ladder_rows(db)
    roll_call(tmp_path, monkeypatch, at("2026-11-27", "09:00"),
              ("2026-11-04", "present"), ("2026-11-17", "present"))
    tick(at("2026-11-27", "09:05"))
    assert step_of(db) == "s1"
    assert ladder_rows(db) == ladder_before


def test_bengtsfors_three_days_reported_ahead_reach_s2(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kari reports Noor sick Wednesday to Friday on Wednesday morning; roll call confirms
    each day. On Friday that is 3 days of continuous reported absence: s2."""
    assert main(["school", "set", "Norrskolan", "--policy", "bengtsfors"]) == 0
    with session_scope(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == NOOR)).one()
        kari = session.exec(select(Person).where(Person.phone == KARI)).one()
        school = session.get(School, noor.school_id)
        assert school is not None
        days = check_report_days(school_calendar(session, school), load_policy("bengtsfors"),
                                 first=date(2026, 11, 4), last=date(2026, 11, 6),
                                 today=date(2026, 11, 4))
        save_report(session, student=noor, reporter=kari, channel="sms", days=days,
                    reason="sick", note=None,
                    now=datetime.fromisoformat(at("2026-11-04", "07:40")))
    for day in ("2026-11-04", "2026-11-05", "2026-11-06"):
        roll_call(tmp_path, monkeypatch, at(day, "08:20"), (day, "absent"))
        tick(at(day, "08:46"))
    assert step_of(db) == "s2"


def test_bengtsfors_a_late_roll_call_gives_one_call_home(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monday's roll call comes on Tuesday morning: the mentor is asked to call home about
    Monday (the guardians could not be told that day), and s1 adds no second call."""
    assert main(["school", "set", "Norrskolan", "--policy", "bengtsfors"]) == 0
    roll_call(tmp_path, monkeypatch, at("2026-11-03", "08:00"), ("2026-11-02", "absent"))
    tick(at("2026-11-03", "08:46"))
    assert step_of(db) == "s1"
    assert len(calls_home(db)) == 1
