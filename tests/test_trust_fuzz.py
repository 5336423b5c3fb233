"""Hostile input, fuzzed (bounded): free text by every path (the chat, SMS, the web chat's
HTTP API), roster files, and names shown in the web chat.

Arbitrary Unicode, right-to-left marks, control characters with NUL (PostgreSQL refuses NUL
in text), 10,000-character messages and SQL metacharacters: nothing raises, nothing is lost
to a database error, and nothing stored holds a NUL.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.web import WebApp
from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from handlers.sms_inbox import SmsMessage, handle_sms
from policy.clock import Clock
from policy.roster import parse_roster
from policy.text import clean_text
from storage.db import make_engine, session_scope
from storage.models import AbsenceReport, ConversationState, OutboxMessage, Person
from tests.rosters import students
from tests.telegram_harness import ROSTER, STAFF, import_roster

pytestmark = pytest.mark.postgresql

OMAR, KARI = "+46701234502", "+4741234503"
NOW = datetime.fromisoformat("2026-11-23T08:00:00+01:00")
FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
PURE = settings(max_examples=300, deadline=None, database=None)

_HOSTILE = ["\x00", "\u200f", "\u202e", "\u202b", "\r\n", "\t", "\x1b[31m", "'; DROP TABLE "
            "person; --", "%", "_", "\\", "\"", "<script>alert(1)</script>", "=cmd|' /C calc'!A0",
            "\ud800", "\ufeff", "Ali", "sjuk", "idag", "ja", "1", "/report", "avbryt", "ﷺ",
            "👩‍👧", "اليوم", "\u0000\u0000"]
hostile_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(_HOSTILE) | st.text(max_size=8), max_size=12).map(" ".join),
    st.sampled_from(_HOSTILE).map(lambda part: part * 2000),  # up to 10,000 characters
)


def no_nul_anywhere(engine: Engine) -> None:
    """Nothing stored holds a NUL or a lone surrogate."""
    with Session(engine) as session:
        texts = [*session.exec(select(OutboxMessage.text)),
                 *(r.note or "" for r in session.exec(select(AbsenceReport))),
                 *(json.dumps(s.data) for s in session.exec(select(ConversationState)))]
    for text in texts:
        assert "\x00" not in text and not re.search("[\ud800-\udfff]", text)


@given(st.text())
@PURE
def test_clean_text_keeps_writing_and_drops_controls(text: str) -> None:
    """No control character but the line break, no lone surrogate; nothing else changes;
    cleaning twice is cleaning once."""
    cleaned = clean_text(text)
    assert all(char == "\n" or unicodedata.category(char) not in {"Cc", "Cs"}
               for char in cleaned)
    assert clean_text(cleaned) == cleaned
    kept = [c for c in text if unicodedata.category(c) not in {"Cc", "Cs"}]
    assert [c for c in cleaned if c not in " \n"] == [c for c in kept if c not in " \n"]
    assert clean_text("Ali \u200fسجين\u200f sjuk") == "Ali \u200fسجين\u200f sjuk"


@given(st.binary(max_size=400) | hostile_text.map(lambda t: t.encode("utf-8", "replace")))
@PURE
def test_roster_files_of_any_bytes_are_refused_or_clean(data: bytes) -> None:
    """Any bytes as a students file, or as one row of it: parsed or refused with problems,
    never raised, and no accepted name holds a control character."""
    row = data.decode("utf-8", "replace").replace("\n", " ")
    for file in (data, students(f"Norrskolan,7A,N001,{row},sv,,no,Mona,0701234567,ar,")
                 .encode("utf-8", "surrogatepass")):
        roster, problems = parse_roster(file, None, lambda school: "SE")
        for record in roster.students.values():
            assert clean_text(record.name) == record.name
            assert record.name[:1] not in {"=", "+", "-", "@"}  # never a formula
            assert all(clean_text(name) == name for name, _lang in record.guardians.values())
        assert problems or roster.students or not data.strip()


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The transcript roster, on SQLite and PostgreSQL."""
    import_roster(tmp_path, ROSTER, STAFF)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def test_chat_and_sms_take_any_text(db: Engine) -> None:
    """Omar in the chat and Kari by SMS write anything: each gets an answer, nothing raises,
    no NUL reaches the database."""
    with Session(db) as session:
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
    seen = iter(range(10**6))

    @given(hostile_text, st.one_of(st.none(), hostile_text.map(lambda t: t[:64])))
    @FUZZ
    def write(text: str, choice: str | None) -> None:
        n = next(seen)
        with session_scope(db) as session:
            answers = handle_incoming(session, Incoming(
                omar.id or 0, "webchat", f"f{n}\x00", text, choice), now=NOW)
            assert answers or not (text.strip() or choice)
            handle_sms(session, SmsMessage(f"SM{n}", KARI, text), now=NOW,
                       default_language="sv", secret=b"k")

    write()
    no_nul_anywhere(db)


async def test_the_web_chat_api_takes_any_text_and_names(db: Engine) -> None:
    """Any text (JSON with NUL and lone surrogates, 10,000 characters) is answered or refused
    with 4xx, never 500; the people search takes any query; names go out as JSON data, and
    the page only ever sets text (never HTML) from data."""
    web = WebApp(db, Clock(NOW), None, webchat=True, channels=["webchat"])
    transport = httpx.ASGITransport(app=web.app)
    with Session(db) as session:
        omar = session.exec(select(Person).where(Person.phone == OMAR)).one()
        omar.name = name = "<img src=x onerror=alert(1)> =cmd|' /C calc'!A0"
        assert omar.id is not None
        omar_id = omar.id
        session.add(omar)
        session.commit()
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        examples: list[tuple[str, str]] = []

        @given(hostile_text, hostile_text.map(lambda t: t[:100]))
        @FUZZ
        def collect(text: str, query: str) -> None:
            examples.append((text, query))

        collect()
        for n, (text, query) in enumerate(examples):
            body = json.dumps({"text": text, "ref": f"w{n}\x00"}).encode()  # ASCII escapes
            sent = await client.post(f"/webchat/api/people/{web.ids.make('person', omar_id)}"
                                     "/messages", content=body,
                                     headers={"content-type": "application/json"})
            assert sent.status_code in {202, 400, 413}, (sent.status_code, text[:40])
            found = await client.get("/webchat/api/people", params={
                "q": query.encode("utf-8", "replace").decode()})
            assert found.status_code == 200
        people = await client.get("/webchat/api/people", params={"q": "onerror"})
        assert people.headers["content-type"] == "application/json"
        assert [p["name"] for p in people.json()] == [name]
    no_nul_anywhere(db)
    page = (Path(__file__).parents[1] / "bot" / "static" / "webchat.html").read_text()
    assert set(re.findall(r"innerHTML\s*=\s*([^;]+);", page)) == {'""'}
    assert "insertAdjacentHTML" not in page and "outerHTML" not in page


def test_a_note_with_nul_and_controls_is_stored_clean(db: Engine) -> None:
    """The report dialog's note (the one free text kept) arrives with NUL, an escape
    sequence and right-to-left marks: stored without the controls, marks kept."""
    from tests.test_trust_data import report_with_note

    report_with_note(db, OMAR, None, "Mig\x00rän\x1b[0m \u200fسجين\u200f", "08:00")
    with Session(db) as session:
        [report] = session.exec(select(AbsenceReport)).all()
    assert report.note == "Migrän[0m \u200fسجين\u200f"


async def test_the_attendance_api_takes_any_strings(db: Engine) -> None:
    """Records, class names and the school as any text (NUL, surrogates as JSON escapes):
    recorded, or refused with the problems; never a database error."""
    web = WebApp(db, Clock(NOW), None, webchat=False, channels=[], api_token="t" * 32)
    examples: list[tuple[str, str, str]] = []

    @given(hostile_text.map(lambda t: t[:80]), hostile_text.map(lambda t: t[:80]),
           hostile_text.map(lambda t: t[:80]))
    @FUZZ
    def collect(student: str, klass: str, school: str) -> None:
        examples.append((student, klass, school))

    collect()
    transport = httpx.ASGITransport(app=web.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for student, klass, school in examples:
            body = json.dumps({"school": school, "classes": [klass], "date": "2026-11-23",
                               "records": [{"date": "2026-11-23", "student_id": student,
                                            "status": "absent"}]}).encode()
            answer = await client.post("/api/attendance", content=body, headers={
                "Authorization": "Bearer " + "t" * 32, "content-type": "application/json"})
            assert answer.status_code in {200, 400, 422}, (answer.status_code, student[:30])
