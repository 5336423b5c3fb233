"""The roster's trust flags: a guardian without custody or barred from contact gets
nothing, and a student with protected identity has no school named in any message and is
shown to staff by id until a staff member opens the record on purpose.

The transcript roster with three columns more; Monday 23 November 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from handlers.sms_inbox import SmsMessage, handle_sms
from storage.db import make_engine, session_scope
from storage.models import AuditLog, Guardianship, OutboxMessage, Person, Student
from tests.rosters import STUDENT_HEADER, write
from tests.telegram_harness import MENTOR_PHONE, STAFF, import_roster
from tests.test_return_plans import answer, say, tick, to

KARI, FARID, DANA = "+4741234503", "+46701234577", "+46701234578"
SCHOOL_PHONE = "+46701740000"
HEADER = STUDENT_HEADER + ",student_protected,guardian_custody,guardian_no_contact"
AT = "2026-11-23T{}+01:00"


def roster(farid: str = "", dana: str = "", noor: str = "") -> str:
    """Ali with Lena, Farid and Dana as guardians, Noor with Kari; the flags as given."""
    return "\n".join((
        HEADER,
        "Norrskolan,7A,N001,Ali Hassan,sv,,no,Lena Hassan,+46701234501,sv,+46701112233,,,",
        f"Norrskolan,7A,N001,Ali Hassan,sv,,no,Farid Hassan,{FARID},sv,+46701112233,,,{farid}",
        f"Norrskolan,7A,N001,Ali Hassan,sv,,no,Dana Hassan,{DANA},sv,+46701112233,,{dana},",
        f"Norrskolan,7A,N003,Noor Berg,nb,,no,Kari Berg,{KARI},nb,+46701112233,{noor},,",
    )) + "\n"


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The roster without flags; the school's phone; the database."""
    monkeypatch.setenv("NARVARO_CLOCK_START", AT.format("07:00:00"))
    import_roster(tmp_path, roster(), STAFF)
    assert main(["school", "set", "Norrskolan", "--phone", SCHOOL_PHONE]) == 0
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def test_no_custody_or_no_contact_gets_nothing(db: Engine, tmp_path: Path) -> None:
    """Farid (no contact) and Dana (no custody) were Ali's guardians, linked on Telegram: the
    flagged roster cuts them at once; by SMS they learn nothing of Ali."""
    with session_scope(db) as session:
        for n, phone in enumerate((FARID, DANA)):
            person = session.exec(select(Person).where(Person.phone == phone)).one()
            person.telegram_chat_id = person.telegram_user_id = 9100 + n
            session.add(person)
    assert main(["roster", "import", "--students", write(
        tmp_path, "flags.csv", roster(farid="yes", dana="no"))]) == 0
    with session_scope(db) as session:
        for n, phone in enumerate((FARID, DANA)):
            person = session.exec(select(Person).where(Person.phone == phone)).one()
            assert person.telegram_chat_id is None
            assert session.exec(select(Guardianship).where(
                Guardianship.guardian_id == person.id)).first() is None
            [answer] = handle_sms(session, SmsMessage(f"SM{n}", phone, "Ali sjuk idag"),
                                  now=datetime.fromisoformat(AT.format("08:00:00")),
                                  default_language="sv", secret=b"k")
            assert "Ali" not in answer.text and "Hassan" not in answer.text
    assert main(["roster", "import", "--students", write(
        tmp_path, "bad.csv", roster(farid="maybe"))]) == 2


def test_a_protected_student_is_never_placed_and_shown_by_id(
    db: Engine, tmp_path: Path
) -> None:
    """Noor is protected: Kari's notice names neither the school nor its number, HELP names
    no school, Anna's call prompt and task list say #N003; /student N003 opens the record
    (audited), with her name."""
    assert main(["roster", "import", "--students", write(
        tmp_path, "flags.csv", roster(noor="yes"))]) == 0
    (tmp_path / "roll.csv").write_text(
        "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
        "2026-11-23,N003,absent,,,\n2026-11-23,N001,absent,,,\n")
    assert main(["attendance", "import", str(tmp_path / "roll.csv")]) == 0
    tick(AT.format("08:46:00"))
    [notice] = to(db, KARI, "absence-notice:")
    assert notice.text.startswith("Noor er ikke på skolen i dag")
    assert SCHOOL_PHONE not in notice.text and "Norrskolan" not in notice.text
    [lena_notice] = to(db, "+46701234501", "absence-notice:")
    assert SCHOOL_PHONE in lena_notice.text  # Ali is not protected
    help_answer = say(db, KARI, "hjelp", AT.format("09:00:00"))
    assert "Norrskolan" not in help_answer and SCHOOL_PHONE not in help_answer
    prompts = [m.text for m in to(db, MENTOR_PHONE, "call-home:")]
    assert any(text.startswith("Ring hem i dag: #N003 ") for text in prompts)
    assert not any("Noor" in text for text in prompts)
    assert "#N003" in say(db, MENTOR_PHONE, "/tasks", AT.format("09:01:00"))
    opened = say(db, MENTOR_PHONE, "/student N003", AT.format("09:02:00"))
    assert opened.startswith("Noor Berg (7A)")
    with Session(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == "N003")).one()
        assert noor.protected
        assert session.exec(select(AuditLog).where(
            AuditLog.action == "student.view", AuditLog.student_id == noor.id)).one()
        texts = session.exec(select(OutboxMessage.text).where(
            col(OutboxMessage.recipient_id) == session.exec(
                select(Person.id).where(Person.phone == KARI)).one())).all()
    assert not any("Norrskolan" in text for text in texts)
    # Kari reports Noor sick tomorrow: Anna's morning summary lists her by id.
    assert "R-" in say(db, KARI, "Noor syk i morgen", AT.format("18:00:00"))  # one text
    tick("2026-11-24T07:31:00+01:00")
    [summary] = [m for m in to(db, MENTOR_PHONE, "mentor-summary:")
                 if m.dedupe_key.endswith(":2026-11-24")]
    assert "#N003" in summary.text and "Noor" not in summary.text
    # Anna's roll call lists her by id too.
    roll = answer(db, MENTOR_PHONE, "/roll 7A", "2026-11-25T08:10:00+01:00")
    labels = [c["label"] for c in roll.choices or []]
    assert any("#N003" in label for label in labels)
    assert not any("Noor" in label for label in labels) and "Noor" not in roll.text
