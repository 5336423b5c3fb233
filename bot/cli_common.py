"""What the command modules share: a refusal on stderr with the exit code, a month as its
first and last day, a student or school looked up by what an operator types."""

from __future__ import annotations

import calendar
import sys
from datetime import date

from sqlmodel import Session, select

from storage.models import School, Student

EXIT_INVALID = 2


def fail(message: str) -> int:
    """Say why on stderr; the exit code of a refused command."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    return EXIT_INVALID


def month_span(text: str) -> tuple[date, date] | None:
    """"2026-11" as its first and last day; None if it is not YYYY-MM."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return None
    return first, date(year, month, calendar.monthrange(year, month)[1])


def school_named(session: Session, name: str) -> School | None:
    """The school called `name`."""
    return session.execute(select(School).where(School.name == name)).scalars().first()


def student_with_id(session: Session, external_id: str) -> Student | None:
    """The student with the school's own id `external_id`."""
    return session.execute(
        select(Student).where(Student.external_id == external_id)).scalars().first()
