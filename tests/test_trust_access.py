"""Who may see and do what: a guardian asking about another family's child, a mentor about
another class, a nurse about students whose tasks she owns; a roster re-import cutting the
links of people who moved or left, at once.

The transcript roster (tests/telegram_harness.py), plus Bo, who mentors Vera (8B) only, and
Nina, the school nurse. Monday 23 November 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from storage.db import make_engine, session_scope
from storage.models import (
    AbsenceReport,
    Concern,
    ConversationState,
    Guardianship,
    MentorLink,
    Person,
    StaffRole,
    StaffTask,
    Student,
)
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, ROSTER, STAFF, import_roster
from tests.test_return_plans import answer, say, tick

LENA, OMAR, KARI = "+46701234501", "+46701234502", "+4741234503"
BO, NINA, PRINCIPAL = "+46701112240", "+46701112241", "+46701112234"
NEW_OMAR = "+46701234599"
ACCESS_STAFF = (STAFF + f"Norrskolan,Bo Mentor,{BO},mentor,sv\n"
                f"Norrskolan,Nina Syster,{NINA},nurse,sv\n")
ACCESS_ROSTER = ROSTER.replace(
    "Norrskolan,8B,N006,Vera Lind,sv,+46701234506,yes,,,,+46701112233",
    f"Norrskolan,8B,N006,Vera Lind,sv,+46701234506,yes,,,,{BO}")
AT = "2026-11-23T{}+01:00"
STAFF_ONLY = "Det här är för skolpersonal."  # "This is for school staff."


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The roster with Bo and Nina imported; the database."""
    monkeypatch.setenv("NARVARO_CLOCK_START", AT.format("07:00:00"))
    import_roster(tmp_path, ACCESS_ROSTER, ACCESS_STAFF)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def link_telegram(db: Engine, phone: str, chat_id: int) -> None:
    """The person's Telegram chat is linked (as `/start` and a shared contact leave it)."""
    with session_scope(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        person.telegram_chat_id = person.telegram_user_id = chat_id
        session.add(person)


def person(db: Engine, phone: str) -> Person:
    """The person with this number."""
    with Session(db) as session:
        return session.exec(select(Person).where(Person.phone == phone)).one()


def test_a_guardian_learns_nothing_about_another_familys_child(db: Engine) -> None:
    """Kari (Noor's mother) names Ali, asks for Ali's log and for the staff commands: no
    name, class, number or report of the Hassans comes back."""
    answers = [say(db, KARI, text, AT.format(f"08:0{n}:00")) for n, text in enumerate(
        ["Ali Hassan er syk i dag", "/student Ali", "/concern Ali", "/plan Ali", "/roll",
         "/reports"])]
    for text in answers:
        for secret in ("Hassan", LENA, OMAR, "7A", "Sara"):
            assert secret not in text, text
    assert answers[1] == answers[2] == "Dette er for skoleansatte."


def test_a_mentor_sees_only_their_own_and_a_nurse_the_students_of_her_tasks(
    db: Engine,
) -> None:
    """Bo mentors Vera: Ali (7A) is not one of his; Nina sees nobody until a task about Noor
    is hers; the principal sees the whole school."""
    assert say(db, BO, "/student Ali", AT.format("09:00:00")) == (
        "Ingen av dina elever heter Ali.")
    assert "Vera Lind (8B)" in say(db, BO, "/student Vera", AT.format("09:01:00"))
    assert say(db, NINA, "/student Noor", AT.format("09:02:00")) == (
        "Ingen av dina elever heter Noor.")
    with session_scope(db) as session:
        noor = session.exec(select(Student).where(Student.external_id == "N003")).one()
        nina = session.exec(select(Person).where(Person.phone == NINA)).one()
        now = datetime.fromisoformat(AT.format("09:03:00"))
        session.add(StaffTask(dedupe_key="test:nurse", school_id=noor.school_id,
                              student_id=noor.id, assignee_id=nina.id or 0, kind="nurse",
                              due_at=now, created_at=now))
    assert "Noor Berg (7A)" in say(db, NINA, "/student Noor", AT.format("09:04:00"))
    assert say(db, NINA, "/student Ali", AT.format("09:05:00")) == (
        "Ingen av dina elever heter Ali.")
    assert "Ali Hassan (7A)" in say(db, PRINCIPAL, "/student Ali", AT.format("09:06:00"))


def test_a_reimport_cuts_the_links_of_people_who_moved_or_left(
    db: Engine, tmp_path: Path
) -> None:
    """Omar has a new number, the principal and Bo have left: Omar's old number is nobody's
    guardian and its chat is unlinked; the principal's and Bo's roles, Bo's mentee and
    both chats are gone at once, and they are refused as staff; Lena keeps everything."""
    for phone, chat in ((OMAR, 9001), (PRINCIPAL, 9002), (BO, 9003), (LENA, 9004)):
        link_telegram(db, phone, chat)
    assert say(db, OMAR, "/report", AT.format("08:01:00"))  # Omar is in a dialog
    moved = ACCESS_ROSTER.replace(OMAR, NEW_OMAR)
    left = "\n".join(line for line in ACCESS_STAFF.splitlines()
                     if PRINCIPAL not in line and BO not in line) + "\n"
    moved = moved.replace(f",{BO}", f",{MENTOR_PHONE}")
    assert main(["roster", "import", "--students", write(tmp_path, "s2.csv", moved),
                 "--staff", write(tmp_path, "t2.csv", left)]) == 0

    old_omar, principal, bo, lena = (person(db, p) for p in (OMAR, PRINCIPAL, BO, LENA))
    with Session(db) as session:
        assert session.exec(select(Guardianship).where(
            Guardianship.guardian_id == old_omar.id)).first() is None
        assert session.exec(select(ConversationState).where(
            ConversationState.person_id == old_omar.id)).first() is None
        for gone in (principal, bo):
            assert session.exec(select(StaffRole).where(
                StaffRole.person_id == gone.id)).first() is None
        assert session.exec(select(MentorLink).where(
            MentorLink.mentor_id == bo.id)).first() is None
        new_omar = session.exec(select(Person).where(Person.phone == NEW_OMAR)).one()
        assert session.exec(select(Guardianship).where(
            Guardianship.guardian_id == new_omar.id)).first() is not None
    assert (old_omar.telegram_chat_id, principal.telegram_chat_id, bo.telegram_chat_id) == (
        None, None, None)
    assert lena.telegram_chat_id == 9004
    assert say(db, PRINCIPAL, "/student Ali", AT.format("10:00:00")) == STAFF_ONLY
    assert say(db, BO, "/student Vera", AT.format("10:01:00")) == STAFF_ONLY
    assert "Ali" not in say(db, OMAR, "Ali sjuk idag", AT.format("10:02:00"))


def test_a_staff_file_alone_removes_a_mentor_and_their_mentees(
    db: Engine, tmp_path: Path
) -> None:
    """Only the staff file, without Bo: his role and his link to Vera go; students of other
    schools' files are not touched."""
    left = "\n".join(line for line in ACCESS_STAFF.splitlines() if BO not in line) + "\n"
    assert main(["roster", "import", "--staff", write(tmp_path, "t3.csv", left)]) == 0
    bo = person(db, BO)
    with Session(db) as session:
        assert session.exec(select(MentorLink).where(MentorLink.mentor_id == bo.id)).all() == []
        anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        assert len(session.exec(select(MentorLink).where(
            MentorLink.mentor_id == anna.id)).all()) == 5


def test_forged_buttons_reach_nothing_of_another_family(db: Engine, tmp_path: Path) -> None:
    """A modified client can send any button data: Kari's forged buttons for Ali's notice,
    Omar's report, Anna's task and Ali's concern change nothing and say nothing of them."""
    receipt = say(db, OMAR, "Ali sjuk idag", AT.format("07:30:00"))
    assert receipt.startswith("Registrerat: Ali") and "R-" in receipt  # one text records it
    (tmp_path / "roll.csv").write_text(
        "date,student_id,status,lesson_start,lesson_end,minutes_late\n2026-11-23,N005,absent,,,\n")
    assert main(["attendance", "import", str(tmp_path / "roll.csv")]) == 0
    assert main(["concern", "raise", "--student", "N001"]) == 0
    tick(AT.format("08:46:00"))  # Adam unexcused: a call task for Anna
    with Session(db) as session:
        ali = session.exec(select(Student).where(Student.external_id == "N001")).one()
        [report] = session.exec(select(AbsenceReport)).all()
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "call_home")).all()
    forged = [f"notice:{ali.id}:2026-11-23", f"child:{ali.id}", f"report:cancel:{report.id}",
              f"report:confirm-cancel:{report.id}", f"undo:{report.id}",
              f"note:add:{report.id}", f"task:done:{task.id}",
              f"task:reached:{task.id}", f"concern:close:{ali.id}", "plan:end:1"]
    for n, key in enumerate(forged):
        shown = answer(db, KARI, "", AT.format(f"09:{n:02d}:00"), key)
        for secret in ("Ali", "Hassan", "Adam", "Smith", OMAR):
            assert secret not in shown.text, (key, shown.text)
    with Session(db) as session:
        assert session.exec(select(AbsenceReport.cancelled_at)).one() is None
        assert session.exec(select(StaffTask.status).where(
            StaffTask.id == task.id)).one() == "open"
        assert len(session.exec(select(AbsenceReport)).all()) == 1
        assert session.exec(select(Concern)).one().closed_at is None
