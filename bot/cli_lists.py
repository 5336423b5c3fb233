"""`narvaro absences|tasks|outbox list`: read and print, with nothing else loaded (each
command answers in well under a second; see benchmarks/cli_speed.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.context import Context
from storage.audit import audit
from storage.db import read_scope, session_scope
from storage.models import Student
from storage.queries import list_absences, list_outbox, list_tasks


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str],
                zone: ZoneInfo) -> int:
    """A JSON array, or a table as wide as its contents (never cut at 80 columns) with
    instants as local times to the minute."""
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return 0
    from rich.console import Console  # a table only: JSON needs none of it
    from rich.measure import Measurement
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True, emoji=False)
    table = Table(*(column.replace("_", " ") for column in columns))
    for row in rows:
        table.add_row(*(_cell(row[c], zone) for c in columns))
    width = Measurement.get(out, out.options.update(max_width=100_000), table).maximum
    Console(highlight=False, width=max(out.width, width)).print(table)
    return 0


def _cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > 16 and value[10:11] == "T":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return str(value)


def cmd_list(context: Context, args: argparse.Namespace) -> int:
    """`absences|tasks|outbox list`."""
    # A look at one student's absences or tasks is audited; any other list only reads.
    audited = args.what in {"absences", "tasks"} and bool(args.student)
    scope = session_scope if audited else read_scope
    with scope(context.engine) as session:
        if audited:
            _audit_view(session, args.student, context.clock.now())
        if args.what == "absences":
            rows = list_absences(session, student=args.student, school=args.school, day=args.date,
                                 state=args.state)
            columns: Sequence[str] = ("id", "school", "student_id", "student_name", "date",
                                      "slot", "kind", "minutes_late", "state")
        elif args.what == "tasks":
            rows = list_tasks(session, status=args.status, student=args.student)
            columns = ("id", "kind", "status", "student_id", "student_name", "assignee_name",
                       "due_at")
        else:
            rows = list_outbox(session, status=args.status, channel=args.channel, to=args.to)
            columns = ("id", "kind", "recipient_name", "channel", "language", "status",
                       "created_at", "text")
    return _print_rows(rows, args.json, columns, context.settings.zone)


def _audit_view(session: Session, external_id: str, now: datetime) -> None:
    """A look at one student's log from the command line is audited like one in the chat."""
    for student_id in session.execute(select(Student.id).where(
            Student.external_id == external_id)).scalars():
        audit(session, at=now, actor="cli", action="student.view", entity="student",
              entity_id=student_id, student_id=student_id)
