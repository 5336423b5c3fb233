"""`POST /api/attendance`: roll call from school systems, as JSON with a bearer token.

The validator is the file import's (`parse_attendance_rows` shares it with
`parse_attendance`); the API is driven over real HTTP against the running bot.
The clock starts on Monday 23 November 2026, 08:00 in Stockholm.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from policy.attendance import AttendanceRecord, parse_attendance, parse_attendance_rows
from storage.models import Absence, RollCall, SchoolClass, Student
from tests.telegram_harness import import_roster, running

MONDAY = date(2026, 11, 23)
TOKEN = "api-token-for-tests-0123456789"
STUDENTS = {"N001": 1, "N002": 2}


def resolve(school: str, student_id: str) -> int | str:
    """A two-student roster, answering as the real resolver does."""
    found = STUDENTS.get(student_id)
    return found if found is not None else f"no student with student_id {student_id} in the roster"


# --- parse_attendance_rows: the file import's rules, for JSON records -----------------------


def test_rows_give_the_same_records_and_problems_as_the_same_csv() -> None:
    """One validator: the same content as a file and as records agrees, but for where."""
    rows = [
        {"date": "2026-11-23", "student_id": "N001", "status": "absent"},
        {"date": "2026-11-23", "student_id": "N002", "status": "late", "lesson_start": "8:15",
         "lesson_end": "09:00", "minutes_late": "10"},
        {"date": "2026-11-24", "student_id": "N009", "status": "sick", "minutes_late": "x"},
    ]
    header = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
    csv = header + "".join(
        ",".join(row.get(name, "") for name in header.strip().split(",")) + "\n" for row in rows
    )
    from_rows, row_problems = parse_attendance_rows(rows, resolve, today=MONDAY)
    from_csv, csv_problems = parse_attendance(csv.encode(), resolve, today=MONDAY, source="a.csv")
    assert [replace(r, line=0) for r in from_rows] == [replace(r, line=0) for r in from_csv]
    assert from_rows[1] == AttendanceRecord(1, MONDAY, 2, "late", time(8, 15), time(9), 10)
    assert [p.split(": ", 1)[1] for p in row_problems.items] == [
        p.split(": ", 1)[1] for p in csv_problems.items]
    assert row_problems.items == [
        "records[2]: date is in the future; roll call records what has happened",
        "records[2]: status 'sick' is not one of absent, late, present",
        "records[2]: minutes_late 'x' is not a whole number",
        "records[2]: minutes_late is only for status late",
        "records[2]: no student with student_id N009 in the roster",
    ]


def test_rows_name_unknown_fields_duplicates_and_long_values_by_index() -> None:
    """A misspelt field is a problem (it would make a lesson a day); so are repeats."""
    rows = [
        {"date": "2026-11-23", "student_id": "N001", "status": "absent"},
        {"date": "2026-11-23", "student_id": "N001", "status": "ABSENT", "school": ""},
        {"date": "2026-11-23", "student_id": "N002", "status": "absent", "lessonStart": "8"},
        {"date": "2026-11-23", "student_id": "N002", "status": "absent", "school": "x" * 501},
        {"student_id": "N002"},
    ]
    records, problems = parse_attendance_rows(rows, resolve, today=MONDAY, source="records")
    assert [(r.line, r.student, r.status, r.slot) for r in records] == [(0, 1, "absent", "day")]
    assert problems.items == [
        "records[2]: unknown field(s) 'lessonStart'; the fields are date, student_id, status, "
        "lesson_start, lesson_end, minutes_late, school",
        "records[3]: school is longer than 500 characters",
        "records[1]: the same student, date and lesson are in records[0]",
        "records[4]: date '' is not a date such as 2026-11-23",
        "records[4]: status '' is not one of absent, late, present",
    ]


# --- the API over HTTP ------------------------------------------------------------------------


@dataclass
class Api:
    """The running bot's attendance API and its database."""

    client: httpx.AsyncClient
    engine: Engine

    async def post(self, payload: Any, *, token: str | None = TOKEN,
                   content: bytes | None = None) -> httpx.Response:
        """POST a payload (or raw bytes) with `token` as bearer (None: no header)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        if content is None:
            content = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
        return await self.client.post("/api/attendance", content=content, headers=headers)

    def absences(self) -> list[tuple[str, str, str, str, str]]:
        """(student id, slot, kind, state, source) of every stored absence."""
        with Session(self.engine) as session:
            # Five columns: SQLAlchemy's select (SQLModel's is typed for up to four).
            rows = session.execute(sql_select(col(Student.external_id), col(Absence.slot),
                                              col(Absence.kind), col(Absence.state),
                                              col(Absence.source))
                                   .join(Student, col(Student.id) == Absence.student_id)
                                   .order_by(col(Student.external_id), col(Absence.slot)))
            return [(student, slot, kind, state, source)
                    for student, slot, kind, state, source in rows]

    def roll_calls(self) -> list[tuple[str, date, str]]:
        """(class name, day, source) of every class whose roll call is recorded."""
        with Session(self.engine) as session:
            rows = session.exec(select(col(SchoolClass.name), col(RollCall.day),
                                       col(RollCall.source))
                                .join(SchoolClass, col(SchoolClass.id) == RollCall.class_id)
                                .order_by(col(SchoolClass.name)))
            return [(name, day, source) for name, day, source in rows]


@pytest.fixture
def roster(narvaro_env: dict[str, str], tmp_path: Path) -> Path:
    """The transcript roster (7A: N001–N005, 8B: N006 at Norrskolan), imported."""
    import_roster(tmp_path)
    return tmp_path


@asynccontextmanager
async def api(**env: str) -> AsyncIterator[Api]:
    """The running bot with the API token set, and an HTTP client to it."""
    async with running({"NARVARO_API_TOKEN": TOKEN, **env}) as runtime:
        settings = runtime.context.settings
        async with httpx.AsyncClient(
            base_url=f"http://{settings.http_host}:{settings.http_port}", timeout=10
        ) as client:
            yield Api(client, runtime.context.engine)


GOOD = {
    "school": "Norrskolan",
    "records": [
        {"date": "2026-11-23", "student_id": "N001", "status": "absent", "lesson_start": None,
         "lesson_end": None, "minutes_late": None},
        {"date": "2026-11-23", "student_id": "N002", "status": "late", "lesson_start": "08:15",
         "lesson_end": "09:00", "minutes_late": 10},
        {"date": "2026-11-23", "student_id": "N003", "status": "absent", "lesson_start": "10:00",
         "lesson_end": "11:00"},
    ],
    "classes": ["8B"],
}


async def test_without_the_right_token_nothing_is_read(
    roster: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No token, a wrong one, another scheme: 401, logged without the body."""
    caplog.set_level(logging.INFO)
    async with api() as bot:
        for token in (None, "wrong-token", TOKEN[:-1], TOKEN + "x"):
            response = await bot.post(GOOD, token=token)
            assert response.status_code == 401, token
            assert response.headers["www-authenticate"] == "Bearer"
        for header in (f"Basic {TOKEN}", "Bearer", TOKEN):
            other = await bot.client.post("/api/attendance", json=GOOD,
                                          headers={"Authorization": header})
            assert other.status_code == 401, header
        assert bot.absences() == [] and bot.roll_calls() == []
    refusals = [r.getMessage() for r in caplog.records if "attendance api" in r.getMessage()]
    assert len(refusals) == 7
    assert not any("N001" in text or TOKEN in text for text in caplog.messages)


async def test_without_a_token_setting_there_is_no_api(roster: Path) -> None:
    """The route exists only when NARVARO_API_TOKEN is set."""
    async with running({}) as runtime:
        settings = runtime.context.settings
        url = f"http://{settings.http_host}:{settings.http_port}/api/attendance"
        async with httpx.AsyncClient() as client:
            response = await client.post(url, json=GOOD, headers={"Authorization": "Bearer x"})
    assert response.status_code == 404


async def test_bad_input_is_refused_whole(roster: Path) -> None:
    """Oversized 413, not JSON or the wrong shape 400, a bad record among good ones 422
    naming its index; nothing is stored by any of them."""
    async with api() as bot:
        oversized = await bot.post(None, content=b" " * (1024 * 1024 + 1))
        assert oversized.status_code == 413
        not_json = await bot.post(None, content=b"{records: [")
        assert (not_json.status_code, not_json.json()) == (
            400, {"problems": ["the body is not JSON (UTF-8)"]})
        deep = await bot.post(None, content=b"[" * 200_000 + b"]" * 200_000)
        assert deep.status_code == 400
        shape = await bot.post({"records": [{"student_id": ["N001"]}, "N002"], "klass": 1})
        assert (shape.status_code, shape.json()["problems"]) == (400, [
            "unknown field 'klass'; the fields are records, classes, school, date",
            "records[0].student_id must be text, a number or null",
            "records[1] must be an object",
        ])
        assert (await bot.post([GOOD])).status_code == 400

        bad = {**GOOD, "records": [*GOOD["records"],
                                   {"date": "2026-11-23", "student_id": "X999",
                                    "status": "absent"},
                                   {"date": "2026-11-30", "student_id": "N004",
                                    "status": "late", "minutes_late": 5}],
               "classes": ["8B", "9C"]}
        refused = await bot.post(bad)
        assert refused.status_code == 422
        assert refused.json() == {"problems": [
            "records[3]: no student X999 at school Norrskolan",
            "records[4]: date is in the future; roll call records what has happened",
            "classes[1]: no class '9C' at school Norrskolan",
        ]}
        assert bot.absences() == [] and bot.roll_calls() == []


async def test_roll_call_is_recorded_once_and_corrected(roster: Path) -> None:
    """A good payload is recorded (with the named class's empty roll call); the same again
    changes nothing; "present" withdraws an absence."""
    async with api() as bot:
        first = await bot.post(GOOD)
        assert (first.status_code, first.json()) == (200, {"recorded": {
            "absent": 2, "late": 1, "withdrawn": 0, "unchanged": 0}})
        stored = [("N001", "day", "absent", "open", "api"),
                  ("N002", "08:15", "late", "open", "api"),
                  ("N003", "10:00", "absent", "open", "api")]
        assert bot.absences() == stored
        assert bot.roll_calls() == [("7A", MONDAY, "api"), ("8B", MONDAY, "api")]

        again = await bot.post(GOOD)
        assert (again.status_code, again.json()) == (200, {"recorded": {
            "absent": 0, "late": 0, "withdrawn": 0, "unchanged": 3}})
        assert bot.absences() == stored
        assert bot.roll_calls() == [("7A", MONDAY, "api"), ("8B", MONDAY, "api")]

        # Ali turned up after all; the school is the record's own this time.
        correction = {"records": [{"date": "2026-11-23", "student_id": "N001",
                                   "status": "present", "school": "Norrskolan"}]}
        corrected = await bot.post(correction)
        assert corrected.json() == {"recorded": {
            "absent": 0, "late": 0, "withdrawn": 1, "unchanged": 0}}
        assert bot.absences()[0] == ("N001", "day", "absent", "withdrawn", "api")
        assert bot.absences()[1:] == stored[1:]


async def test_the_same_payload_twice_at_once_is_recorded_once(roster: Path) -> None:
    """A school system that retries while its first call is still running: both succeed."""
    async with api() as bot:
        first, second = await asyncio.gather(bot.post(GOOD), bot.post(GOOD))
        assert (first.status_code, second.status_code) == (200, 200)
        counts = sorted([first.json()["recorded"], second.json()["recorded"]],
                        key=lambda c: c["unchanged"])
        assert counts == [{"absent": 2, "late": 1, "withdrawn": 0, "unchanged": 0},
                          {"absent": 0, "late": 0, "withdrawn": 0, "unchanged": 3}]
        assert len(bot.absences()) == 3
        assert len(bot.roll_calls()) == 2
