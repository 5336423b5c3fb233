"""`narvaro caselog --student ID`: a student's case log as a printable HTML page (to print
or to save for the next meeting), in the school's language unless told otherwise."""

from __future__ import annotations

import argparse
import sys

from bot.cli_common import fail, student_with_id
from bot.context import Context
from locales import normalize_language
from services.case_log import case_log_html
from storage.db import session_scope
from storage.models import School
from storage.schools import policy_of


def cmd_caselog(context: Context, args: argparse.Namespace) -> int:
    """Write the student's case log to stdout as HTML."""
    with session_scope(context.engine) as session:
        student = student_with_id(session, args.student)
        if student is None:
            return fail(f"no student with id {args.student!r}")
        language = normalize_language(args.language) if args.language else policy_of(
            session.get(School, student.school_id)).language
        sys.stdout.write(case_log_html(session, student, language, by="cli",
                                       now=context.clock.now()))
    return 0
