"""Roll-call import, corrections, and `narvaro tick` as a repeatable sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from storage.db import session_scope
from storage.models import ConversationState, OutboxMessage, Person
from storage.outbox import MessageKind, enqueue
from tests.rosters import GOOD_STUDENTS, STAFF, write

pytestmark = pytest.mark.postgresql

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"


@pytest.fixture
def roster(narvaro_env: dict[str, str], engine: Engine, tmp_path: Path) -> Engine:
    """A database holding the small test roster."""
    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    return engine


def absences(capsys: pytest.CaptureFixture[str], *filters: str) -> list[dict[str, object]]:
    """`narvaro absences list --json` parsed."""
    capsys.readouterr()
    assert main(["absences", "list", "--json", *filters]) == 0
    return list(json.loads(capsys.readouterr().out))


def test_roll_call_is_recorded_and_corrected(
    roster: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Absent, a late lesson, then a correction: the list shows what is true now."""
    first = HEADER + (
        "2026-11-23,N001,absent,,,\n"
        "2026-11-23,N002,late,08:15,09:00,12\n"
        "2026-11-23,N003,absent,10:00,11:00,\n"
    )
    assert main(["attendance", "import", write(tmp_path, "a.csv", first)]) == 0
    rows = absences(capsys, "--date", "2026-11-23")
    assert {(r["student_id"], r["slot"], r["kind"], r["minutes_late"], r["state"])
            for r in rows} == {("N001", "day", "absent", None, "open"),
                               ("N002", "08:15", "late", 12, "open"),
                               ("N003", "10:00", "absent", None, "open")}
    # Ali turned up after all; importing the same file again changes nothing else.
    correction = first + "2026-11-23,N001,present,,,\n"
    correction = correction.replace("2026-11-23,N001,absent,,,\n", "")
    assert main(["attendance", "import", write(tmp_path, "b.csv", correction)]) == 0
    assert [r["state"] for r in absences(capsys, "--student", "N001")] == ["withdrawn"]
    assert len(absences(capsys, "--state", "open")) == 2


def test_bad_roll_call_is_refused_whole(
    roster: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown students, bad statuses and times, future dates: all listed, nothing stored."""
    text = HEADER + (
        "2026-11-23,N001,absent,,,\n"
        "2026-11-23,X999,absent,,,\n"
        "2026-11-23,N002,sick,,,\n"
        "2026-11-23,N002,absent,10:00,09:00,\n"
        "2026-12-01,N003,absent,,,\n"
        "23/11/2026,N003,late,,,abc\n"
    )
    capsys.readouterr()
    assert main(["attendance", "import", write(tmp_path, "a.csv", text)]) == 2
    err = capsys.readouterr().err
    for expected in ("a.csv:3: no student with student_id X999 in the roster",
                     "a.csv:4: status 'sick' is not one of absent, late, present",
                     "a.csv:5: lesson_end is not after lesson_start",
                     "a.csv:6: date is in the future",
                     "a.csv:7: date '23/11/2026' is not a date",
                     "a.csv:7: minutes_late 'abc' is not a whole number"):
        assert expected in err
    assert absences(capsys) == []


def test_tick_sweeps_and_sends_once(
    roster: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tick --now` forgets stale dialogs and sends what is due; a second tick sends nothing."""
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with session_scope(roster) as session:
        mona = session.exec(select(Person).where(Person.phone == "+46701234567")).one()
        assert mona.id is not None
        session.add(ConversationState(person_id=mona.id, dialog="report", step="reason",
                                      updated_at=now - timedelta(days=8)))
        enqueue(session, dedupe_key="test:1", kind=MessageKind.NOTICE,
                recipient_id=mona.id, channel="console",
                language="ar", text="مرحبا", now=now)
        enqueue(session, dedupe_key="test:2", kind=MessageKind.NOTICE,
                recipient_id=mona.id, channel="console",
                language="ar", text="later", now=now, not_before=now + timedelta(hours=3))
    capsys.readouterr()
    assert main(["tick", "--now", "2026-11-23T09:00:00+01:00"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["sweeps"]["forget_stale_conversations"] == 1
    assert first["sent"] == 1
    assert main(["tick", "--now", "2026-11-23T09:00:00+01:00"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["sweeps"]["forget_stale_conversations"], second["sent"]) == (0, 0)
    assert main(["tick", "--now", "2026-11-23T11:30:00+01:00"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 1
    with Session(roster) as session:
        statuses = sorted(m.status for m in session.exec(select(OutboxMessage)))
        assert statuses == ["delivered", "delivered"]
        assert session.exec(select(ConversationState)).all() == []
    assert main(["outbox", "list", "--json", "--to", "+46701234567"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["text"] for m in listed] == ["مرحبا", "later"]
    assert all(m["kind"] for m in listed)  # what each message is about, from its column
