"""Teachers take roll call in the chat (/roll): Telegram transcripts and the SMS free-text path.

The clock starts on Monday 23 November 2026, 08:00 in Stockholm.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from handlers.roll_call import mentions
from locales import gettext_for
from storage.db import make_engine, session_scope
from storage.models import Absence, OutboxMessage, Person, SchoolClass, Student
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE, import_roster

MONDAY = date(2026, 11, 23)
t = partial(gettext_for, "sv")


@pytest.fixture
def roster(narvaro_env: dict[str, str], tmp_path: Path) -> Path:
    """The test roster, imported through the real command."""
    import_roster(tmp_path)
    return tmp_path


@pytest.fixture
def db(narvaro_env: dict[str, str], roster: Path) -> Iterator[Engine]:
    """The bot's database, opened separately to check what it holds."""
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def marks(engine: Engine) -> dict[str, tuple[str, str, str]]:
    """Today's whole-day records by student name: (kind, state, source)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Absence, Person.name).join(Student, col(Student.id) == Absence.student_id)
            .join(Person, col(Person.id) == Student.person_id)
            .where(col(Absence.day) == MONDAY, Absence.slot == "day")
        ).all()
        return {name: (row.kind, row.state, row.source) for row, name in rows}


def receipt(absent: int, late: int) -> str:
    """The saved-roll-call receipt for class 7A, in Swedish."""
    return t("Roll call for {name} saved: {absent} absent, {late} late.", name="7A",
             absent=absent, late=late)


class Texter:
    """A person writing to the handlers over SMS, one message at a time."""

    def __init__(self, engine: Engine, phone: str) -> None:
        self.engine = engine
        with Session(engine) as session:
            self.person_id = session.exec(select(Person.id).where(Person.phone == phone)).one()
        self.sent = 0

    def say(self, text: str = "", choice: str | None = None) -> OutboxMessage:
        """Write `text` (or answer with `choice`) and return the one answer."""
        self.sent += 1
        with session_scope(self.engine) as session:
            ref = f"SM{self.person_id}x{self.sent}"  # unique per message, as Twilio's sid
            incoming = Incoming(self.person_id or 0, "sms", ref, text, choice)
            [answer] = handle_incoming(session, incoming,
                                       now=datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
            return answer


def labels(answer: OutboxMessage) -> list[str]:
    """The labels of an answer's choices."""
    return [choice["label"] for choice in answer.choices or []]


def test_roll_call_by_free_text(db: Engine) -> None:
    """By SMS: the class by name, students by number and name; "skicka" sends it."""
    mentor = Texter(db, MENTOR_PHONE)
    assert labels(mentor.say("/roll"))[:2] == ["7A", "8B"]
    listed = mentor.say("7a")
    assert labels(listed)[:5] == ["Adam Smith", "Ali Hassan", "Emil Holm", "Noor Berg",
                                  "Sara Hassan"]
    toggled = mentor.say("2 och Sara")
    assert labels(toggled)[:5] == ["Adam Smith", "✗ Ali Hassan", "Emil Holm", "Noor Berg",
                                   "✗ Sara Hassan"]
    unclear = mentor.say("noor, noor och Hassan")
    assert "“hassan”" in unclear.text
    assert labels(unclear)[3] == "⏱ Noor Berg"
    assert mentor.say("skicka").text == receipt(2, 1)
    assert marks(db) == {"Ali Hassan": ("absent", "open", "roll"),
                         "Sara Hassan": ("absent", "open", "roll"),
                         "Noor Berg": ("late", "open", "roll")}

    guardian = Texter(db, GUARDIANS["sv"][1])
    with Session(db) as session:
        class_id = session.exec(select(SchoolClass.id).where(SchoolClass.name == "7A")).one()
    for refused in (guardian.say("/roll"), guardian.say(choice=f"roll:class:{class_id}")):
        assert refused.text == t("This is for school staff.")
        assert "Ali Hassan" not in labels(refused)


def test_mentions_numbers_and_names() -> None:
    """Numbers, full, first and last names; a shared last name is unclear."""
    names = ["Ali Hassan", "Sara Hassan", "Björn Berg", "Anna-Karin Ek"]
    assert mentions("1, bjorn och 4", names) == ([0, 2, 3], [])
    assert mentions("Sara Hassan anna-karin ek", names) == ([1, 3], [])
    assert mentions("Hassan 9 Berg", names) == ([2], ["hassan", "9"])
