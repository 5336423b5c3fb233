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
from sqlmodel import Session, select

from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from handlers.roll_call import mentions
from locales import gettext_for, ngettext_for
from storage.db import make_engine, session_scope
from storage.models import Absence, OutboxMessage, Person, RollCall, SchoolClass, Student
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE, import_roster, running_bot

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
            select(Absence, Person.name).join(Student, Student.id == Absence.student_id)
            .join(Person, Person.id == Student.person_id)
            .where(Absence.day == MONDAY, Absence.slot == "day")
        ).all()
        return {name: (row.kind, row.state, row.source) for row, name in rows}


def receipt(absent: int, late: int) -> str:
    """The saved-roll-call receipt for class 7A, in Swedish."""
    return t("Roll call for {name} saved: {absent} absent, {late} late.", name="7A",
             absent=absent, late=late)


async def test_mentor_takes_and_corrects_roll_call_in_telegram(
    telegram: FakeTelegram, roster: Path, db: Engine
) -> None:
    """Link, /roll, pick 7A, two absent and one late, send; a second /roll corrects one."""
    async with running_bot(telegram, roster) as bot:
        mentor = bot.chat(language="sv")
        linked = await mentor.link(MENTOR_PHONE)
        assert t("Roll call") in linked.buttons
        classes = await mentor.say("/roll")
        assert classes.buttons == ["7A", "8B", t("Cancel")]
        listed = await mentor.tap("7A")
        assert listed.buttons == ["Adam Smith", "Ali Hassan", "Emil Holm", "Noor Berg",
                                  "Sara Hassan", t("Send"), t("Cancel")]
        await mentor.tap("Ali Hassan")
        await mentor.tap("Sara Hassan")
        await mentor.tap("Noor Berg")
        shown = await mentor.tap("✗ Noor Berg")
        assert shown.buttons[:5] == ["Adam Smith", "✗ Ali Hassan", "Emil Holm", "⏱ Noor Berg",
                                     "✗ Sara Hassan"]
        saved = await mentor.tap(t("Send"))
        assert saved.text == receipt(2, 1)
        assert t("Roll call") in saved.buttons  # back at the menu

        assert marks(db) == {"Ali Hassan": ("absent", "open", "roll"),
                             "Sara Hassan": ("absent", "open", "roll"),
                             "Noor Berg": ("late", "open", "roll")}
        with Session(db) as session:
            mentor_id = session.exec(select(Person.id).where(Person.phone == MENTOR_PHONE)).one()
            [roll] = session.exec(select(RollCall, SchoolClass.name).join(
                SchoolClass, SchoolClass.id == RollCall.class_id)).all()
            assert (roll[1], roll[0].day, roll[0].source, roll[0].taken_by) == (
                "7A", MONDAY, "roll", mentor_id)

        await mentor.say("/roll")
        again = await mentor.tap("7A")
        assert t("It was already taken today: the marks show what is recorded. "
                 "Change what is wrong, then choose Send.") in again.text
        assert again.buttons[:5] == ["Adam Smith", "✗ Ali Hassan", "Emil Holm", "⏱ Noor Berg",
                                     "✗ Sara Hassan"]
        await mentor.tap("✗ Sara Hassan")
        await mentor.tap("⏱ Sara Hassan")
        corrected = await mentor.tap(t("Send"))
        assert corrected.text == receipt(1, 1) + " " + ngettext_for(
            "sv", "{n} earlier absence withdrawn.", "{n} earlier absences withdrawn.", 1)
        assert marks(db)["Sara Hassan"] == ("absent", "withdrawn", "roll")
        assert marks(db)["Ali Hassan"] == ("absent", "open", "roll")

        guardian = bot.chat(language="sv")
        welcome = await guardian.link(GUARDIANS["sv"][1])
        assert t("Roll call") not in welcome.buttons
        refused = await guardian.say("/roll")
        assert refused.text == t("This is for school staff.")
        assert "7A" not in refused.buttons and "Ali Hassan" not in refused.buttons
    [published] = {
        tuple(command["command"] for command in call.params["commands"])
        for call in telegram.calls("setMyCommands")
    }
    assert "roll" in published


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
