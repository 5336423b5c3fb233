"""`narvaro report absences|csn`: a school's (or class's) absence over a period, and the
month's unapproved absence per student as CSN wants it reported, as CSV on stdout (cells
safe to open in a spreadsheet). Staff-only material: names, never reasons."""

from __future__ import annotations

import argparse
import sys

from bot.cli_common import fail, month_span, school_named
from bot.context import Context
from policy.csvout import to_csv
from storage.db import session_scope
from storage.exports import absence_rows, unapproved_by_student
from storage.models import AuditLog


def cmd_report(context: Context, args: argparse.Namespace) -> int:
    """Write the report asked for as CSV (audited by school and period)."""
    span = month_span(args.month) if args.what == "csn" else (args.first, args.last)
    if span is None:
        return fail(f"--month {args.month!r}: write it as YYYY-MM")
    first, last = span
    if last < first:
        return fail(f"--to {last} is before --from {first}: give the first day, then the "
                    "last")
    with session_scope(context.engine) as session:
        school = school_named(session, args.school)
        if school is None:
            return fail(f"no school called {args.school!r}")
        session.add(AuditLog(at=context.clock.now(), actor="cli", action=f"report.{args.what}",
                             entity="school", entity_id=str(school.id),
                             detail={"first": first.isoformat(), "last": last.isoformat()}))
        if args.what == "csn":
            sys.stdout.write(to_csv(
                ("student_id", "student_name", "class", "unapproved_occasions",
                 "unapproved_days", "dates"), unapproved_by_student(session, school, first, last)))
        else:
            sys.stdout.write(to_csv(
                ("date", "student_id", "student_name", "class", "slot", "kind", "state",
                 "minutes_late"),
                absence_rows(session, school, first, last, class_name=args.class_name)))
    return 0
