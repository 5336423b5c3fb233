"""Teachers take roll call in a Telegram chat (/roll): in-process transcripts
(tests/transcript.py). The SMS free-text path is in tests/test_roll_call_chat.py.

The clock stands on Monday 23 November 2026, 08:00 in Stockholm; Telegram the only phone
channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from locales import gettext_for, ngettext_for
from storage.models import Person, RollCall, SchoolClass
from tests.telegram_harness import GUARDIANS, MENTOR_PHONE, import_roster
from tests.test_roll_call_chat import MONDAY, marks, receipt
from tests.transcript import House

t = partial(gettext_for, "sv")


@pytest.fixture
def bot(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[House]:
    """The transcript roster; Telegram only."""
    import_roster(tmp_path)
    with House.open(channels=("telegram",)) as house:
        yield house


def test_mentor_takes_and_corrects_roll_call_in_telegram(bot: House) -> None:
    """Link, /roll, pick 7A, two absent and one late, send; a second /roll corrects one."""
    mentor = bot.telegram(language="sv")
    linked = mentor.link(MENTOR_PHONE)
    assert t("Roll call") in linked.buttons
    classes = mentor.say("/roll")
    assert classes.buttons == ["7A", "8B", t("Cancel")]
    listed = mentor.tap("7A")
    assert listed.buttons == ["Adam Smith", "Ali Hassan", "Emil Holm", "Noor Berg",
                              "Sara Hassan", t("Send"), t("Cancel")]
    mentor.tap("Ali Hassan")
    mentor.tap("Sara Hassan")
    mentor.tap("Noor Berg")
    shown = mentor.tap("✗ Noor Berg")
    assert shown.buttons[:5] == ["Adam Smith", "✗ Ali Hassan", "Emil Holm", "⏱ Noor Berg",
                                 "✗ Sara Hassan"]
    saved = mentor.tap(t("Send"))
    assert saved.text == receipt(2, 1)
    assert t("Roll call") in saved.buttons  # back at the menu

    assert marks(bot.engine) == {"Ali Hassan": ("absent", "open", "roll"),
                                 "Sara Hassan": ("absent", "open", "roll"),
                                 "Noor Berg": ("late", "open", "roll")}
    with Session(bot.engine) as session:
        mentor_id = session.exec(select(Person.id).where(Person.phone == MENTOR_PHONE)).one()
        [roll] = session.exec(select(RollCall, SchoolClass.name).join(
            SchoolClass, col(SchoolClass.id) == RollCall.class_id)).all()
    assert (roll[1], roll[0].day, roll[0].source, roll[0].taken_by) == (
        "7A", MONDAY, "roll", mentor_id)

    mentor.say("/roll")
    again = mentor.tap("7A")
    assert t("It was already taken today: the marks show what is recorded. "
             "Change what is wrong, then choose Send.") in again.text
    assert again.buttons[:5] == ["Adam Smith", "✗ Ali Hassan", "Emil Holm", "⏱ Noor Berg",
                                 "✗ Sara Hassan"]
    mentor.tap("✗ Sara Hassan")
    mentor.tap("⏱ Sara Hassan")
    corrected = mentor.tap(t("Send"))
    assert corrected.text == receipt(1, 1) + " " + ngettext_for(
        "sv", "{n} earlier absence withdrawn.", "{n} earlier absences withdrawn.", 1)
    assert marks(bot.engine)["Sara Hassan"] == ("absent", "withdrawn", "roll")
    assert marks(bot.engine)["Ali Hassan"] == ("absent", "open", "roll")

    guardian = bot.telegram(language="sv")
    welcome = guardian.link(GUARDIANS["sv"][1])
    assert t("Roll call") not in welcome.buttons
    refused = guardian.say("/roll")
    assert refused.text == t("This is for school staff.")
    assert "7A" not in refused.buttons and "Ali Hassan" not in refused.buttons
