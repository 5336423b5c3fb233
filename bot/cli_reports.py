"""`narvaro report absences|csn`: a school's (or class's) absence over a period, and the
month's unapproved absence per student as CSN wants it reported, as CSV on stdout (cells
safe to open in a spreadsheet). Staff-only material: names, never reasons."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.app import Context
from bot.cli_common import fail, month_span, school_named
from policy.csvout import to_csv
from storage.db import session_scope
from storage.exports import absence_rows, unapproved_by_student
from storage.models import AuditLog


def cmd_report(context: Context, args: argparse.Namespace) -> int:
    """Write the report asked for as CSV (audited by school and period)."""
    try:
        span = (month_span(args.month) if args.what == "csn" else
                (date.fromisoformat(args.first), date.fromisoformat(args.last)))
    except ValueError:
        span = None
    if span is None:
        return fail("dates as YYYY-MM-DD (--from, --to), months as YYYY-MM (--month)")
    first, last = span
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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`narvaro report absences|csn`."""
    report = sub.add_parser("report", help="absence as CSV: a period, or the month for CSN")
    report_sub = report.add_subparsers(dest="what", required=True)
    absences = report_sub.add_parser("absences", help="a school's or class's absence, by day")
    absences.add_argument("--school", required=True)
    absences.add_argument("--class", dest="class_name", help="only this class")
    absences.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    absences.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    csn = report_sub.add_parser("csn", help="the month's unapproved absence per student")
    csn.add_argument("--school", required=True)
    csn.add_argument("--month", required=True, metavar="YYYY-MM")
    for parser in (absences, csn):
        parser.set_defaults(handler=cmd_report)
