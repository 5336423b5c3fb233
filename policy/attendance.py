"""Attendance (roll-call) CSV validation.

Columns: `date,student_id,status,lesson_start,lesson_end,minutes_late` (and an
optional `school`, for student ids that several schools use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

from policy.csvrows import Problems, decode, read_rows

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


def parse_attendance(
    data: bytes, resolve: Callable[[str, str], int | str], *, today: date,
    source: str = "attendance.csv",
) -> tuple[list[AttendanceRecord], Problems]:
    """Validate a roll-call file; `resolve(school, student_id)` gives a row id or a problem.

    `school` is the optional column of that name ("" when absent).
    """
    problems = Problems()
    text = decode(data, source, problems)
    if text is None:
        return [], problems
    records: list[AttendanceRecord] = []
    seen: dict[tuple[int, date, str], int] = {}
    for line, row in read_rows(text, source, COLUMNS, REQUIRED, problems):
        before = len(problems.items)

        def add(message: str, line: int = line) -> None:
            problems.add(source, line, message)

        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            add(f"date '{row['date']}' is not a date such as 2026-11-23")
            day = today
        if day > today:
            add("date is in the future; roll call records what has happened")
        status = row["status"].lower()
        if status not in STATUSES:
            add(f"status '{row['status']}' is not one of {', '.join(STATUSES)}")
        start = _time(row["lesson_start"], "lesson_start", add)
        end = _time(row["lesson_end"], "lesson_end", add)
        if end is not None and start is None:
            add("lesson_end given without lesson_start")
        if start is not None and end is not None and end <= start:
            add("lesson_end is not after lesson_start")
        minutes: int | None = None
        if row["minutes_late"]:
            try:
                minutes = int(row["minutes_late"])
            except ValueError:
                add(f"minutes_late '{row['minutes_late']}' is not a whole number")
            else:
                if not 0 < minutes <= MAX_MINUTES_LATE:
                    add(f"minutes_late must be between 1 and {MAX_MINUTES_LATE}")
            if status != "late":
                add("minutes_late is only for status late")
        student: int | str = "student_id is empty"
        if row["student_id"]:
            student = resolve(row["school"], row["student_id"])
        if isinstance(student, str):
            add(student)
        if len(problems.items) > before or isinstance(student, str):
            continue
        record = AttendanceRecord(line, day, student, status, start, end, minutes)
        key = (student, day, record.slot)
        if key in seen:
            add(f"the same student, date and lesson are on line {seen[key]}")
            continue
        seen[key] = line
        records.append(record)
    return records, problems
