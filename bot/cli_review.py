"""`narvaro review --school NAME --month YYYY-MM`: the monthly review of a school, in words
(stdout), as a JSON of its figures (`--json`), and as a picture (`--png FILE`)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from bot.cli_common import fail, month_span, school_named
from bot.context import Context
from locales import normalize_language
from services.review import review_chart, review_text
from storage.db import session_scope
from storage.review import monthly_review
from storage.schools import policy_of


def cmd_review(context: Context, args: argparse.Namespace) -> int:
    """Print the school's review of the month; write its picture with --png."""
    span = month_span(args.month)
    if span is None:
        return fail(f"--month {args.month!r}: write it as YYYY-MM")
    first, last = span
    with session_scope(context.engine) as session:
        school = school_named(session, args.school)
        if school is None:
            return fail(f"no school called {args.school!r}")
        language = normalize_language(args.language) if args.language else policy_of(
            school).language
        review = monthly_review(session, school, first, last, now=context.clock.now())
        name = school.name
    if args.json:
        sys.stdout.write(json.dumps(asdict(review), default=str, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(review_text(review, name, language) + "\n")
    if args.png:
        from bot.charts import render_png  # matplotlib: only when a picture is asked for

        Path(args.png).write_bytes(render_png(review_chart(review, name, language)))
    return 0
