"""Attendance (roll-call) validation, for the CSV file and the API's JSON records alike.

Columns: `date,student_id,status,lesson_start,lesson_end,minutes_late` (and an
optional `school`, for student ids that several schools use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time

from policy.csvrows import MAX_FIELD, CsvSource, Problems, read_rows

COLUMNS = ("date", "student_id", "status", "lesson_start", "lesson_end", "minutes_late", "school")
REQUIRED = ("date", "student_id", "status")
STATUSES = ("absent", "late", "present")
MAX_MINUTES_LATE = 600


@dataclass(frozen=True)
class AttendanceRecord:
    """One roll-call line; `student` is the resolved internal student row id."""

    line: int
    day: date
    student: int
    status: str
    lesson_start: time | None
    lesson_end: time | None
    minutes_late: int | None

    @property
    def slot(self) -> str:
        """"day" for a whole day, else the lesson start as HH:MM."""
        return self.lesson_start.strftime("%H:%M") if self.lesson_start else "day"


def _time(value: str, column: str, add: Callable[[str], None]) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value if len(value) > 4 else value.zfill(5))
    except ValueError:
        add(f"{column} '{value}' is not a time such as 08:15")
        return None


#: `closed(student, day)`: why `day` is not a school day for that student's school, or None.
Closed = Callable[[int, date], str | None]


def parse_attendance(
    data: CsvSource, resolve: Callable[[str, str], int | str], *, today: date,
    source: str = "attendance.csv", closed: Closed | None = None,
) -> tuple[list[AttendanceRecord], Problems]:
    """Validate a roll-call file; `resolve(school, student_id)` gives a row id or a problem,
    `closed` says which days are not school days (roll call is for school days only).

    `school` is the optional column of that name ("" when absent).
    """
    problems = Problems()
    rows = read_rows(data, source, COLUMNS, REQUIRED, problems)
    records = _validate(
        rows, resolve, today=today,
        add=lambda line, message: problems.add(source, line, message),
        where=lambda line: f"on line {line}", closed=closed,
    )
    return records, problems


def parse_attendance_rows(
    rows: list[dict[str, str]], resolve: Callable[[str, str], int | str], *, today: date,
    source: str = "records", closed: Closed | None = None,
) -> tuple[list[AttendanceRecord], Problems]:
    """Validate roll-call records given as field → text (the API's JSON), as a file is.

    Fields are the file's columns; a missing one is empty, an unknown one is a
    problem. Problems read `source[index]: what is wrong`, and each record's
    `line` is its index.
    """
    problems = Problems()

    def add(index: int, message: str) -> None:
        problems.note(f"{source}[{index}]: {message}")

    numbered: list[tuple[int, dict[str, str]]] = []
    for index, row in enumerate(rows):
        unknown = [name for name in row if name not in COLUMNS]
        if unknown:
            # A misspelt field (say `lessonStart`) would silently turn a lesson into a day.
            shown = ", ".join(repr(name[:40]) for name in unknown[:5])
            add(index, f"unknown field(s) {shown}; the fields are {', '.join(COLUMNS)}")
            continue
        values = {name: row.get(name, "").strip() for name in COLUMNS}
        too_long = [name for name, value in values.items() if len(value) > MAX_FIELD]
        if too_long:
            add(index, f"{too_long[0]} is longer than {MAX_FIELD} characters")
            continue
        numbered.append((index, values))
    records = _validate(
        numbered, resolve, today=today, add=add, where=lambda index: f"in {source}[{index}]",
        closed=closed,
    )
    return records, problems


def _validate(
    rows: Iterable[tuple[int, dict[str, str]]], resolve: Callable[[str, str], int | str], *,
    today: date, add: Callable[[int, str], None], where: Callable[[int], str],
    closed: Closed | None = None,
) -> list[AttendanceRecord]:
    """The records of numbered rows that pass every rule; `add(line, message)` for the rest.

    `where(line)` names an earlier row in a message about a duplicate.
    """
    records: list[AttendanceRecord] = []
    seen: dict[tuple[int, date, str], int] = {}
    for line, row in rows:
        found: list[str] = []
        problem = found.append
        day = _day(row, today, problem)
        status = row["status"].lower()
        if status not in STATUSES:
            problem(f"status '{row['status']}' is not one of {', '.join(STATUSES)}")
        start, end = _lesson(row, problem)
        minutes = _minutes_late(row, status, problem)
        student: int | str = "student_id is empty"
        if row["student_id"]:
            student = resolve(row["school"], row["student_id"])
        if isinstance(student, str):
            problem(student)
        elif closed is not None and not found and (why := closed(student, day)):
            problem(why)
        for message in found:
            add(line, message)
        if found or isinstance(student, str):
            continue
        record = AttendanceRecord(line, day, student, status, start, end, minutes)
        key = (student, day, record.slot)
        if key in seen:
            add(line, f"the same student, date and lesson are {where(seen[key])}")
            continue
        seen[key] = line
        records.append(record)
    return records


def _day(row: dict[str, str], today: date, problem: Callable[[str], None]) -> date:
    """The row's date (today when it is not one, with a problem): never in the future."""
    try:
        day = date.fromisoformat(row["date"])
    except ValueError:
        problem(f"date '{row['date']}' is not a date such as 2026-11-23")
        day = today
    if day > today:
        problem("date is in the future; roll call records what has happened")
    return day


def _lesson(row: dict[str, str],
            problem: Callable[[str], None]) -> tuple[time | None, time | None]:
    """The row's lesson start and end, if given: an end only with a start, and after it."""
    start = _time(row["lesson_start"], "lesson_start", problem)
    end = _time(row["lesson_end"], "lesson_end", problem)
    if end is not None and start is None:
        problem("lesson_end given without lesson_start")
    if start is not None and end is not None and end <= start:
        problem("lesson_end is not after lesson_start")
    return start, end


def _minutes_late(row: dict[str, str], status: str,
                  problem: Callable[[str], None]) -> int | None:
    """The row's minutes late, if given: a whole number in range, only for status late."""
    if not row["minutes_late"]:
        return None
    minutes: int | None = None
    try:
        minutes = int(row["minutes_late"])
    except ValueError:
        problem(f"minutes_late '{row['minutes_late']}' is not a whole number")
    else:
        if not 0 < minutes <= MAX_MINUTES_LATE:
            problem(f"minutes_late must be between 1 and {MAX_MINUTES_LATE}")
    if status != "late":
        problem("minutes_late is only for status late")
    return minutes
