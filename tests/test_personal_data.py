"""Every place a person's data can live is covered by `narvaro export` and `narvaro forget`.

The schema is walked through SQLModel's metadata: every table and column must be in
`storage.personal_data.REGISTRY`. Then Omar (Ali's father) links Telegram, reports Ali
sick with a note and writes his worry in his own words (it reaches the mentor and the case
log); his export holds all of it, and after `forget` no cell of any table holds his name,
number, Telegram chat id, note or words. Monday 23 November 2026, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel, col

from bot.cli import main
from handlers.linking import ChatMessage, handle_chat_message
from storage.db import make_engine, session_scope
from storage.models import OutboxMessage
from storage.outbox import mark_sent
from storage.personal_data import REGISTRY, Kind
from tests.telegram_harness import MENTOR_PHONE, import_roster
from tests.test_trust_data import LENA, OMAR, report_with_note

pytestmark = pytest.mark.postgresql

CHAT = 777_123_456
WORRY = "Han mobbas på rasterna och vill inte gå till skolan"
NOTE = "Feber sedan i natt"
WHEN = "2026-11-23T{}+01:00"


def test_every_table_and_column_is_classified() -> None:
    """A table or column the registry does not name (or names but the schema lacks) fails
    here: each says how export and forget cover it, or why they need not."""
    tables = SQLModel.metadata.tables
    assert set(tables) == set(REGISTRY)
    for name, table in tables.items():
        coverage = REGISTRY[name]
        assert set(coverage.columns) == {column.name for column in table.columns}, name
        assert coverage.export.strip() and coverage.forget.strip(), name
        for column in table.columns:
            pointer = any(key.column.table.name == "person" for key in column.foreign_keys)
            # a pointer to a person is classified as one (or as who someone is)
            assert not pointer or coverage.columns[column.name] in (
                Kind.PERSON, Kind.IDENTITY), (name, column.name)


def everything(engine: Engine) -> str:
    """Every cell of every table the schema has, as one text."""
    cells: list[str] = []
    with Session(engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(select(table)):
                cells.extend(json.dumps(value, ensure_ascii=False, default=str)
                             for value in row)
    return "\n".join(cells)


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The roster imported; the database, to check."""
    monkeypatch.setenv("NARVARO_CLOCK_START", WHEN.format("07:00:00"))
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def telegram(db: Engine, ref: str, when: str, **fields: Any) -> list[OutboxMessage]:
    """Omar's Telegram chat sends an update (handled as the bot handles it)."""
    with session_scope(db) as session:
        rows = handle_chat_message(session, ChatMessage(
            channel="telegram", chat_id=CHAT, user_id=CHAT, ref=ref, **fields),
            now=datetime.fromisoformat(WHEN.format(when)))
        for number, row in enumerate(rows):  # as the Telegram channel records a send
            mark_sent(session, row.id or 0, now=datetime.fromisoformat(WHEN.format(when)),
                      provider_ref=f"{CHAT}:{100 + number}")
        return rows


def test_export_gives_and_forget_takes_every_trace_of_a_guardian(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Omar's Telegram link, report note and worry are in his export; after `forget`, none
    of them, nor his name, number or chat id, is in any cell of any table, the mentor's
    message and the case log keep the task but not his words; Lena is untouched."""
    telegram(db, f"u1:{CHAT}:1", "07:30:00", contact_phone=OMAR, contact_user_id=CHAT)
    report_with_note(db, OMAR, None, NOTE, "08:00")
    [reply] = telegram(db, f"u2:{CHAT}:2", "09:00:00", text=WORRY)
    assert "Anna Mentor" in reply.text  # the worry reached the mentor, who will call
    text = everything(db)
    for trace in (WORRY, NOTE, "Omar Hassan", OMAR, str(CHAT)):
        assert trace in text, trace
    capsys.readouterr()
    assert main(["caselog", "--student", "N001"]) == 0
    assert WORRY in capsys.readouterr().out

    assert main(["export", "--guardian", OMAR]) == 0
    export = json.loads(capsys.readouterr().out)
    assert export["person"]["telegram_chat_id"] == CHAT
    [raised] = export["written"]["concerns_raised"]
    assert (raised["student_id"], raised["source"], raised["note"]) == (
        "N001", "guardian", WORRY)
    [report] = export["students"][0]["reports"]
    assert report["note"] == NOTE

    assert main(["forget", "--guardian", OMAR]) == 0
    text = everything(db)
    for trace in (WORRY, NOTE, "Omar Hassan", OMAR, str(CHAT)):
        assert trace not in text, trace
    assert "Lena Hassan" in text and LENA in text
    with Session(db) as session:  # the mentor still has the task to call, without his words
        [concern] = session.execute(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("concern:"))).scalars().all()
    assert concern.text and concern.choices
    capsys.readouterr()
    assert main(["caselog", "--student", "N001"]) == 0
    assert WORRY not in capsys.readouterr().out
    assert main(["export", "--guardian", MENTOR_PHONE]) == 0
