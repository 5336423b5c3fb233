"""The Ljusnarsberg ladder over three weeks of roll call, through `narvaro tick`.

Noor (7A) is absent without a report on Monday 23 November 2026, misses a lesson on Tuesday
and is absent again on Wednesday: three occasions (three days in a row would be one). The
1st unexcused occasion is the same-day call (the notice already gives it), the 3rd calls a
meeting with a weekly follow-up. Tasks are created once, reach the mentor on the
day they are due, and the weekly follow-up stops when a correction takes the step back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from scheduler.letters import after_quiet_hours
from storage.db import make_engine, session_scope
from storage.models import LadderPosition, OutboxMessage, Person, School, StaffTask, Student
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, import_roster


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The transcript roster (Norrskolan follows the Ljusnarsberg plan by default)."""
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, day: str, status: str = "absent",
           at: str | None = None, lesson: str = ",") -> None:
    """Noor's roll call for `day` (the whole day, or `lesson` "HH:MM,HH:MM"), imported at
    08:20 that day (or at `at`)."""
    monkeypatch.setenv("NARVARO_CLOCK_START", at or f"{day}T08:20:00+01:00")
    path = write(tmp_path, f"roll-{day}-{status}.csv",
                 "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
                 f"{day},N003,{status},{lesson},\n")
    assert main(["attendance", "import", path]) == 0


def tick(now: str) -> None:
    """`narvaro tick --now …`."""
    assert main(["tick", "--now", now]) == 0


def ladder_tasks(db: Engine) -> list[StaffTask]:
    """Tasks the ladder created, oldest first."""
    with Session(db) as session:
        return list(session.exec(select(StaffTask).where(
            col(StaffTask.dedupe_key).startswith("ladder:")).order_by(col(StaffTask.id))))


def step_of(db: Engine) -> str | None:
    """Noor's step on the ladder."""
    with Session(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == "N003")).one()
        position = session.get(LadderPosition, noor.id)
        return position.step_id if position else None


def nudges(db: Engine) -> list[OutboxMessage]:
    """Ladder tasks sent to their owners."""
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("nudge:")).order_by(col(OutboxMessage.id))))


def test_three_unexcused_days_call_a_meeting_with_weekly_follow_up(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The right tasks on the right days for the right people, nothing twice; the nudge on
    the due day; done from the chat; the weekly follow-up; de-escalation stops it."""
    absent(tmp_path, monkeypatch, "2026-11-23")
    tick("2026-11-23T08:46:00+01:00")
    assert step_of(db) == "s1"
    assert ladder_tasks(db) == []  # the same-day call came with the notice already
    for day in ("2026-11-24", "2026-11-25"):
        absent(tmp_path, monkeypatch, day, lesson="08:15,09:00" if day == "2026-11-24" else ",")
        tick(f"{day}T08:46:00+01:00")
        tick(f"{day}T08:47:00+01:00")
    assert step_of(db) == "s2"
    created = ladder_tasks(db)
    assert sorted(t.kind for t in created) == ["follow_up_meeting", "meeting", "student_talk"]
    with Session(db) as session:
        anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
    assert {t.assignee_id for t in created} == {anna.id}
    # Due a week after the step was entered (Wednesday 2 December, 08:00 in Stockholm).
    assert {t.due_at.isoformat() for t in created} == {"2026-12-02T07:00:00+00:00"}
    tick("2026-12-01T12:00:00+01:00")
    assert nudges(db) == []
    tick("2026-12-02T08:05:00+01:00")
    tick("2026-12-02T08:06:00+01:00")
    sent = nudges(db)
    assert len(sent) == 3 and all(n.recipient_id == anna.id for n in sent)
    meeting = next(n for n in sent if n.text.startswith("Kalla till möte med elev och v.h."))
    assert meeting.text.endswith(": Noor Berg (7A), senast ons 2 dec.")
    assert [c["label"] for c in meeting.choices or []] == [
        "Mötet är hållet", "Mötet är bokat", "Påminn mig i morgon", "Lämna över", "Behövs inte"]
    with Session(db) as session:
        [digest] = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"digest:{anna.id}:2026-12-02")).all()
    lines = digest.text.splitlines()
    assert lines[0] == "Dina uppgifter i dag:"
    assert ("• Kalla till möte med elev och v.h. Eventuellt är personal från elevhälsan med: "
            "Noor Berg (7A)") in lines
    with session_scope(db) as session:
        # The meeting is booked for Wednesday next week: the day is written out.
        [which] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "a1", "", (meeting.choices or [])[1][
                "key"]), now=datetime.fromisoformat("2026-12-02T09:00:00+01:00"))
        assert which.text == "Vilken dag är mötet? Välj en dag eller skriv ett datum."
        assert [c["label"] for c in which.choices or []] == [
            "ons 2 dec.", "tors 3 dec.", "fre 4 dec.", "mån 7 dec.", "tis 8 dec."]
        [booked] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "a1b", "9/12"),
            now=datetime.fromisoformat("2026-12-02T09:00:30+01:00"))
        assert booked.text == "Bokat till ons 9 dec. Jag påminner dig skoldagen före."
        talk = next(n for n in sent if n.text.startswith("Genomgång av elevdokumentation"))
        [later] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "a2", "", (talk.choices or [])[1][
                "key"]), now=datetime.fromisoformat("2026-12-02T09:01:00+01:00"))
        assert later.text == "Jag påminner dig tors 3 dec."
        # The weekly follow-up is handed to the principal, who hears of it at once.
        follow = next(n for n in sent if n.text.startswith("Uppföljning varje vecka"))
        hand_over = next(c for c in follow.choices or [] if c["label"] == "Lämna över")
        [whom] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "a3", "", hand_over["key"]),
            now=datetime.fromisoformat("2026-12-02T09:02:00+01:00"))
        assert whom.text == "Vem ska ta över uppgiften?"
        rut_choice = next(c for c in whom.choices or [] if c["label"] == "Rut Rektor")
        [handed] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "a4", "", rut_choice["key"]),
            now=datetime.fromisoformat("2026-12-02T09:03:00+01:00"))
        assert handed.text == "Överlämnad till Rut Rektor."
        rut = session.exec(select(Person).where(Person.name == "Rut Rektor")).one()
        [told] = session.exec(select(OutboxMessage).where(
            OutboxMessage.recipient_id == rut.id,
            OutboxMessage.dedupe_key.startswith("handover:"))).all()
        assert told.text.startswith("Anna Mentor gav dig en uppgift: Uppföljning varje vecka")
    # A week on, the weekly follow-up comes again (once).
    tick("2026-12-02T10:00:00+01:00")
    tick("2026-12-03T08:30:00+01:00")
    tick("2026-12-03T08:31:00+01:00")
    follow_ups = [t for t in ladder_tasks(db) if t.kind == "follow_up_meeting"]
    assert len(follow_ups) == 2
    again = [n for n in nudges(db) if n.text.startswith("Genomgång av elevdokumentation")]
    assert len(again) == 2  # put off on Wednesday, back on Thursday morning, once
    # Roll call corrected: Noor was there on Tuesday and Wednesday after all.
    absent(tmp_path, monkeypatch, "2026-11-24", "present", at="2026-12-03T08:50:00+01:00",
           lesson="08:15,09:00")
    absent(tmp_path, monkeypatch, "2026-11-25", "present", at="2026-12-03T08:50:00+01:00")
    tick("2026-12-03T09:00:00+01:00")
    assert step_of(db) == "s1"
    with Session(db) as session:
        [told] = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("ladder-left:"))).all()
        assert told.text.startswith("Noor Berg (7A) uppfyller inte längre steget")
    recurring = [t for t in ladder_tasks(db) if t.dedupe_key.split(":")[-1].startswith("r1@")]
    assert [t.status for t in recurring] == ["not_needed"]
    # The calls home about Tuesday and Wednesday, never made, are off as well; Monday's stays.
    with Session(db) as session:
        calls = session.exec(select(StaffTask).where(
            col(StaffTask.dedupe_key).startswith("call-home:")).order_by(col(StaffTask.id))).all()
        assert [(t.dedupe_key.split(":")[2], t.status, t.outcome) for t in calls] == [
            ("2026-11-23", "open", None), ("2026-11-24", "not_needed", "corrected"),
            ("2026-11-25", "not_needed", "corrected")]
    # Two school days past due, what is still open goes to the principal too (once).
    tick("2026-12-04T08:30:00+01:00")
    tick("2026-12-04T08:31:00+01:00")
    with Session(db) as session:
        rut = session.exec(select(Person).where(Person.name == "Rut Rektor")).one()
        overdue = session.exec(select(OutboxMessage).where(
            OutboxMessage.recipient_id == rut.id,
            OutboxMessage.dedupe_key.startswith("overdue:"))).all()
    talks = [m.text for m in overdue if "Genomgång av elevdokumentation" in m.text]
    assert talks == ["Inte gjort sedan ons 2 dec: Genomgång av elevdokumentation "
                     "(elevdagbok/elevlogg). Lyssna till eleven, Noor Berg (7A) "
                     "(ansvarig: Anna Mentor)."]
    # The booked meeting: recalled on Tuesday (the school day before), then due on Wednesday.
    tick("2026-12-07T12:00:00+01:00")
    tick("2026-12-08T08:30:00+01:00")
    tick("2026-12-08T08:31:00+01:00")
    with Session(db) as session:
        [before] = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("remind-before:"))).all()
    assert before.recipient_id == anna.id
    assert before.text == ("Påminnelse: Kalla till möte med elev och v.h. Eventuellt är personal "
                           "från elevhälsan med: Noor Berg (7A), bokat till i morgon, ons 9 dec.")
    tick("2026-12-09T08:05:00+01:00")
    on_the_day = [n for n in nudges(db) if n.text.startswith("Kalla till möte")]
    assert len(on_the_day) == 2 and on_the_day[-1].text.endswith("senast ons 9 dec.")
    held = next(c for c in on_the_day[-1].choices or [] if c["label"] == "Mötet är hållet")
    with session_scope(db) as session:
        [noted] = handle_incoming(session, Incoming(anna.id or 0, "webchat", "a5", "",
                                                    held["key"]),
                                  now=datetime.fromisoformat("2026-12-09T15:00:00+01:00"))
    assert noted.text == "Noterat. Tack!"
    meetings = [t for t in ladder_tasks(db) if t.kind == "meeting"]
    assert [(t.status, t.outcome) for t in meetings] == [("done", "booked"), ("done", "held")]


def test_student_shows_a_mentor_one_of_their_own_and_nobody_else(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/student Noor: the term's counters, the step and the log, for her mentor; a guardian
    and an unknown name learn nothing."""
    for day in ("2026-11-23", "2026-11-24", "2026-11-25"):
        absent(tmp_path, monkeypatch, day, lesson="08:15,09:00" if day == "2026-11-24" else ",")
        tick(f"{day}T08:46:00+01:00")
    now = datetime.fromisoformat("2026-11-25T10:00:00+01:00")
    with session_scope(db) as session:
        anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        [shown] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "s1", "/student noor"), now=now)
        lines = shown.text.splitlines()
        assert lines[0] == "Noor Berg (7A)"
        assert lines[1].startswith("Den här terminen: 3 ogiltiga tillfällen")
        assert "1 frånvarodag i rad" in lines[1]  # Wednesday (Tuesday was one lesson)
        assert lines[2].startswith("Steg i planen: Mentor kallar till möte med elev och v.h.")
        assert lines[3] == "Senast:"
        assert "• ons 25 nov.: frånvarande, ingen anmälan · meddelandet obesvarat" in lines
        [unknown] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "s2", "/student Zlatan"), now=now)
        assert unknown.text == "Ingen av dina elever heter Zlatan."
        kari = session.exec(select(Person).where(Person.phone == "+4741234503")).one()
        [refused] = handle_incoming(
            session, Incoming(kari.id or 0, "webchat", "s3", "/student Noor"), now=now)
        assert "Noor" not in refused.text


def test_entering_a_step_sends_the_guardians_its_letter(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 3rd unexcused occasion invites Noor's guardian to a meeting, in her language, once;
    a step entered in the quiet hours would wait for the morning."""
    for day in ("2026-11-23", "2026-11-24", "2026-11-25"):
        absent(tmp_path, monkeypatch, day, lesson="08:15,09:00" if day == "2026-11-24" else ",")
        tick(f"{day}T08:46:00+01:00")
        tick(f"{day}T08:47:00+01:00")
    assert step_of(db) == "s2"
    with Session(db) as session:
        kari = session.exec(select(Person).where(Person.phone == "+4741234503")).one()
        [letter] = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("letter:"))).all()
        school = session.exec(select(School)).one()
    assert letter.recipient_id == kari.id and letter.status in ("sent", "delivered")
    assert letter.text == ("Skolen ønsker å møte dere og Noor for å snakke om oppmøtet på "
                           "skolen. Kontaktlæreren tar kontakt for å finne et tidspunkt.")
    at_night = datetime.fromisoformat("2026-11-25T22:31:00+01:00")
    assert after_quiet_hours(school, at_night).isoformat() == "2026-11-26T07:00:00+01:00"
    early = datetime.fromisoformat("2026-11-26T06:10:00+01:00")
    assert after_quiet_hours(school, early).isoformat() == "2026-11-26T07:00:00+01:00"
    noon = datetime.fromisoformat("2026-11-26T12:00:00+01:00")
    assert after_quiet_hours(school, noon) == noon
