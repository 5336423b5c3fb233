"""Roll call → same-day notices: transcripts through the fake Telegram and Twilio servers.

Monday 23 November 2026 in Stockholm; the first lesson is at 08:15, so a whole-day
absence without a report becomes unexcused at 08:45. The runtime's clock starts a
few seconds before that and its real scheduler sweeps every 0.3 s.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.app import Runtime
from bot.cli import main
from storage.db import make_engine
from storage.models import (
    Absence,
    AbsenceReport,
    AuditLog,
    OutboxMessage,
    Person,
    StaffTask,
    Student,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio, SentSms
from tests.rosters import write
from tests.telegram_harness import (
    MENTOR_PHONE,
    free_port,
    import_roster,
    running,
)

SCHOOL_NUMBER = "+46701740000"
LENA, OMAR, KARI, METTE, JOHN = (
    "+46701234501", "+46701234502", "+4741234503", "+4520123404", "+447911123456")
PRINCIPAL = "+46701112234"
REFERENCE = re.compile(r"R-[A-Z0-9]{5}")
BEFORE_CUTOFF = "2026-11-23T08:44:56+01:00"


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The roster imported through the real command; the database, to check."""
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


@dataclass
class Bot:
    """The running bot with both channels."""

    runtime: Runtime
    telegram: FakeTelegram
    twilio: FakeTwilio
    public_url: str

    async def sms_in(self, number: str, body: str) -> SentSms:
        """A text from `number` (signed as Twilio does) and the bot's answer."""
        response = await self.twilio.asms_to_bot(
            f"{self.public_url}/twilio/sms", from_=number, to=SCHOOL_NUMBER, body=body)
        assert response.status_code == 200
        return await self.sms_out(number)

    async def sms_out(self, number: str) -> SentSms:
        """The next text the bot sends to `number`."""
        return await self.twilio.next_message(number, timeout=30)


@asynccontextmanager
async def both(telegram: FakeTelegram, twilio: FakeTwilio, **env: str) -> AsyncIterator[Bot]:
    """The runtime with Telegram and SMS, the clock just before the cutoff."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with running({
        "NARVARO_HTTP_PORT": str(port), "NARVARO_PUBLIC_URL": public,
        "NARVARO_TELEGRAM_TOKEN": telegram.token, "NARVARO_TELEGRAM_API_URL": telegram.base_url,
        "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token, "NARVARO_TWILIO_FROM": SCHOOL_NUMBER,
        "NARVARO_TWILIO_API_URL": twilio.base_url, "NARVARO_SWEEP_INTERVAL_SECONDS": "0.3",
        "NARVARO_CLOCK_START": BEFORE_CUTOFF, **env,
    }) as runtime:
        yield Bot(runtime, telegram, twilio, public)


def roll_call(tmp_path: Path, *rows: str, name: str = "roll.csv") -> None:
    """Import a roll-call export through the real command."""
    path = write(tmp_path, name, "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
                 + "\n".join(rows) + "\n")
    assert main(["attendance", "import", path]) == 0


def school_setting(*settings: str) -> None:
    """`narvaro school set Norrskolan --phone … --notice KEY=VALUE …`."""
    args = ["school", "set", "Norrskolan", "--phone", SCHOOL_NUMBER]
    for setting in settings:
        args += ["--notice", setting]
    assert main(args) == 0


def states(db: Engine) -> dict[str, list[str]]:
    """Each student's absences' states, by the school's student id."""
    with Session(db) as session:
        rows = session.exec(select(Student.external_id, Absence.state).join(
            Absence, col(Absence.student_id) == Student.id).order_by(col(Absence.slot))).all()
    found: dict[str, list[str]] = {}
    for external_id, state in rows:
        found.setdefault(external_id, []).append(state)
    return found


def tasks(db: Engine, kind: str) -> list[StaffTask]:
    """Staff tasks of one kind, oldest first."""
    with Session(db) as session:
        return list(session.exec(select(StaffTask).where(col(StaffTask.kind) == kind)
                                 .order_by(col(StaffTask.id))))


def outbox(db: Engine) -> list[OutboxMessage]:
    """Every queued message, oldest first."""
    with Session(db) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def keys(db: Engine, prefix: str) -> list[str]:
    """Dedupe keys of queued messages starting with `prefix`."""
    return [m.dedupe_key for m in outbox(db) if m.dedupe_key.startswith(prefix)]


def tick(now: str) -> None:
    """`narvaro tick --now …` (sweeps, then sends what is due on the configured channels)."""
    assert main(["tick", "--now", now]) == 0


def test_lessons_quiet_hours_and_ticks(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three missed lessons → one notice; a tick twice sends nothing twice; a roll call
    that arrives in the quiet hours is never sent the next morning: the mentor is told."""
    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N005,absent,08:15,09:00,",
              "2026-11-23,N005,absent,10:00,11:00,", "2026-11-23,N005,absent,13:00,14:00,")
    tick("2026-11-23T08:30:00+01:00")
    assert keys(db, "absence-notice:") == []  # 08:15 + 20 min is not yet
    tick("2026-11-23T08:36:00+01:00")
    tick("2026-11-23T08:36:00+01:00")
    tick("2026-11-23T13:30:00+01:00")
    assert len(keys(db, "absence-notice:")) == 1
    assert states(db)["N005"] == ["unexcused"] * 3
    assert len(keys(db, "call-home:")) == 1

    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T21:30:00+01:00")
    roll_call(tmp_path, "2026-11-23,N003,absent,,,", name="late.csv")
    tick("2026-11-23T21:40:00+01:00")
    tick("2026-11-24T00:30:00+01:00")
    assert len(keys(db, "call-home:")) == 1  # nobody is prompted in the night either
    tick("2026-11-24T07:35:00+01:00")
    assert len(keys(db, "absence-notice:")) == 1  # still only Adam's
    [told] = [m for m in outbox(db) if m.dedupe_key.startswith("call-home:")
              and m.text.startswith("Noor Berg (7A)")]
    assert "kunde inte få veta det samma dag" in told.text


def test_a_report_after_the_sweep_stops_the_notice_before_it_is_sent(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice is queued at the cutoff; Kari's report arrives before the dispatcher
    sends it: it is withdrawn, never sent."""
    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from scheduler.sweeps import run_sweeps
    from storage.db import session_scope
    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N003,absent,,,")
    cutoff = datetime.fromisoformat("2026-11-23T08:46:00+01:00")
    run_sweeps(db, cutoff)
    [notice] = keys(db, "absence-notice:")
    with session_scope(db) as session:
        kari = session.exec(select(Person).where(Person.phone == KARI)).one()
        for n, text in enumerate(["Noor er syk i dag", "ja"]):
            handle_incoming(session, Incoming(kari.id or 0, "webchat", f"w{n}", text),
                            now=cutoff)
    tick("2026-11-23T08:47:00+01:00")
    [row] = [m for m in outbox(db) if m.dedupe_key == notice]
    assert row.status == "withdrawn" and row.sent_at is None
    assert states(db)["N003"] == ["reported"]
    # The mentor's call is off too: its prompt is not sent, and it is not carried over.
    [prompt] = [m for m in outbox(db) if m.dedupe_key.startswith("call-home:")]
    assert prompt.status == "withdrawn"
    [call] = tasks(db, "call_home")
    assert (call.status, call.outcome) == ("not_needed", "reported")
    with session_scope(db) as session:  # closed by the rules, and audited as such
        [closed] = session.exec(select(AuditLog).where(AuditLog.action == "task.not_needed"))
        assert (closed.actor, closed.entity_id, closed.detail["outcome"]) == (
            "system", str(call.id), "reported")


def test_a_correction_before_the_notice_went_out_sends_nothing(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Absent, the notice queued at the cutoff, then "present" before it is sent: the notice
    is withdrawn and there is nothing to correct."""
    from scheduler.sweeps import run_sweeps

    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N003,absent,,,")
    run_sweeps(db, datetime.fromisoformat("2026-11-23T08:46:00+01:00"))
    assert len(keys(db, "absence-notice:")) == 1
    roll_call(tmp_path, "2026-11-23,N003,present,,,", name="fix.csv")
    tick("2026-11-23T08:47:00+01:00")
    assert [m.status for m in outbox(db) if m.dedupe_key.startswith("absence-notice:")] == [
        "withdrawn"]
    assert keys(db, "notice-correction:") == []


def test_siblings_absent_the_same_day_are_asked_apart(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lena's Ali and Sara are both absent: two notices; "Han är sjuk" asks which child."""
    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from storage.db import session_scope

    school_setting("mass_alert_share=1")
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N002,absent,,,")
    tick("2026-11-23T08:46:00+01:00")
    now = datetime.fromisoformat("2026-11-23T08:50:00+01:00")
    with session_scope(db) as session:
        lena = session.exec(select(Person).where(Person.phone == LENA)).one()
        [question] = handle_incoming(
            session, Incoming(lena.id or 0, "webchat", "l1", "Han är sjuk"), now=now)
        assert [c["label"] for c in question.choices or []][:2] == ["Ali", "Sara"]
        [receipt] = handle_incoming(
            session, Incoming(lena.id or 0, "webchat", "l2", "", "child:" + str(
                session.exec(select(Student.id).where(Student.external_id == "N002")).one())),
            now=now)
        assert receipt.text.startswith("Registrerat: Sara frånvarande mån 23 nov, sjuk.")
    assert len(keys(db, "absence-notice:")) == 3  # Ali: Lena and Omar; Sara: Lena


def test_a_roll_call_on_a_day_off_tells_nobody(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Saturday is not a school day: the file is refused with why, no notice, no prompt."""
    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-21T08:20:00+01:00")
    path = write(tmp_path, "roll.csv", "date,student_id,status,lesson_start,lesson_end,"
                 "minutes_late\n2026-11-21,N003,absent,,,\n")
    assert main(["attendance", "import", path]) == 2
    tick("2026-11-21T09:00:00+01:00")
    tick("2026-11-23T09:00:00+01:00")
    assert keys(db, "absence-notice:") == [] and keys(db, "call-home:") == []
    assert "N003" not in states(db)


def test_no_answer_reminds_later_and_an_unmade_call_carries_over(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"No answer" brings the prompt back two hours later; a call still not made by the
    next morning is in the mentor's summary; a class with no roll call by noon gets its
    mentor a reminder (not notices)."""
    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from storage.attendance import record_roll_call
    from storage.db import session_scope

    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N003,absent,,,")
    tick("2026-11-23T08:46:00+01:00")
    [call] = tasks(db, "call_home")
    with session_scope(db) as session:
        anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        [answer] = handle_incoming(
            session, Incoming(anna.id or 0, "webchat", "m1", "", f"task:retry:{call.id}"),
            now=datetime.fromisoformat("2026-11-23T08:50:00+01:00"))
        assert answer.text == "Jag påminner dig klockan 10:50."
    tick("2026-11-23T10:49:00+01:00")
    assert [k for k in keys(db, "call-home:") if ":again:" in k] == []
    tick("2026-11-23T10:51:00+01:00")
    [again] = [m for m in outbox(db) if ":again:" in m.dedupe_key]
    assert again.text.startswith("Ring hem i dag: Noor Berg (7A)")

    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-24T08:00:00+01:00")
    roll_call(tmp_path, "2026-11-24,N001,late,,,10", name="tuesday.csv")
    tick("2026-11-24T12:05:00+01:00")
    assert keys(db, "roll-reminder:") == []  # files list the absent only: no reminders
    with session_scope(db) as session:  # 8B's teacher took Monday's roll call in the chat
        eight_b = session.exec(select(Student.class_id).where(
            Student.external_id == "N006")).one()
        record_roll_call(session, eight_b, date(2026, 11, 23), source="roll",
                         now=datetime.fromisoformat("2026-11-23T08:10:00+01:00"))
    tick("2026-11-24T07:35:00+01:00")
    [summary] = [m for m in outbox(db) if m.dedupe_key.startswith("mentor-summary:")]
    assert "Samtal hem som inte är gjorda än:\n• Noor Berg (7A), mån 23 nov." in summary.text
    tick("2026-11-24T12:05:00+01:00")
    [reminder] = [m for m in outbox(db) if m.dedupe_key.startswith("roll-reminder:")]
    assert reminder.text == "Ingen närvaro är registrerad för 8B i dag än. Ta närvaron (/roll)."
    assert len(keys(db, "absence-notice:")) == 1  # Noor's on Monday only


def test_without_a_principal_the_mentors_confirm_a_held_burst(
    narvaro_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No coordinator or principal in the roster: the class's mentor is asked instead, and
    "Do not send" keeps the notices from going out."""
    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from storage.db import session_scope
    from tests.telegram_harness import STAFF

    only_mentor = "\n".join(line for line in STAFF.splitlines() if "principal" not in line)
    import_roster(tmp_path, staff=only_mentor + "\n")
    school_setting()
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N003,absent,,,",
              "2026-11-23,N005,absent,,,")
    tick("2026-11-23T08:46:00+01:00")
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    try:
        [asked] = [m for m in outbox(engine) if m.dedupe_key.startswith("mass-guard:")]
        with session_scope(engine) as session:
            anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
            assert asked.recipient_id == anna.id
            [answer] = handle_incoming(
                session, Incoming(anna.id or 0, "webchat", "a1", "",
                                  (asked.choices or [])[1]["key"]),
                now=datetime.fromisoformat("2026-11-23T08:50:00+01:00"))
            assert answer.text.startswith("Inga meddelanden skickas")
        tick("2026-11-23T09:00:00+01:00")
        assert keys(engine, "absence-notice:") == []
        [guard] = tasks(engine, "confirm_notices")
        assert guard.outcome == "cancelled"
    finally:
        engine.dispose()


def test_an_answer_to_a_notice_is_recorded_and_the_mentor_told(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"vet" answers the notice: recorded against it ("known"), the reason is asked once,
    the mentor hears that the guardians know (the call stays); a text naming a child who
    is not the writer's ("Elsa Berg är sjuk idag") is answered as such and never applied
    to the notice's child, and the mentor is told to call."""
    from handlers.inbox import handle_incoming
    from handlers.messages import Incoming
    from storage.db import session_scope

    school_setting("mass_alert_share=1")
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T08:20:00+01:00")
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N003,absent,,,")
    tick("2026-11-23T08:46:00+01:00")
    now = datetime.fromisoformat("2026-11-23T08:50:00+01:00")
    with session_scope(db) as session:
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
        [asked] = handle_incoming(session, Incoming(omar.id or 0, "sms", "o1", "vet"), now=now)
        assert asked.text.startswith("Tack för ditt svar.\n\nVad är anledningen?")
        kari = session.exec(select(Person).where(Person.phone == KARI)).one()
        [other] = handle_incoming(
            session, Incoming(kari.id or 0, "sms", "k1", "Ali Hassan er syk i dag"), now=now)
        assert other.text.startswith("Det navnet er ikke et av barna dine her (Noor)")
        lena = session.exec(select(Person).where(Person.phone == LENA)).one()
        [alarmed] = handle_incoming(session, Incoming(
            lena.id or 0, "sms", "l1", "Va?? Han gick hemifrån kvart över sju!"), now=now)
        assert alarmed.text == "Tack för ditt svar. Skolan kontaktar dig."
        mentor = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        [shown] = handle_incoming(session, Incoming(mentor.id or 0, "sms", "m1",
                                                    "/student Ali"), now=now)
        assert "frånvarande, ingen anmälan · meddelandet besvarat 08:50" in shown.text
    with Session(db) as session:
        answered = {a.student_id: (a.answer, a.state) for a in session.exec(select(Absence))}
        reports = session.exec(select(AbsenceReport)).all()
        told = [m.text for m in session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).contains(":answer:")))]
    assert sorted(answered.values()) == [("known", "unexcused"), ("replied", "unexcused")]
    assert reports == []  # nothing applied to Noor, nothing recorded for Ali yet
    assert any(t.startswith("Omar Hassan svarade på meddelandet om Ali Hassan (7A): hen vet")
               for t in told)
    # Kari's words named another child: never passed on. Lena's report nothing: Anna,
    # who is to call, reads them as written.
    assert "Kari Berg svarade på meddelandet om Noor Berg (7A) men anmälde inte frånvaron: " \
        "ring gärna." in told
    assert "Lena Hassan svarade på meddelandet om Ali Hassan (7A) men anmälde inte " \
        "frånvaron: ring gärna.\nAnteckning: Va?? Han gick hemifrån kvart över sju!" in told
