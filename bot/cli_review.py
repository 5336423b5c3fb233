"""`narvaro review --school NAME --month YYYY-MM`: the monthly review of a school, in words
(stdout), as a JSON of its figures (`--json`), and as a picture (`--png FILE`)."""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from sqlmodel import select

from bot.app import Context
from bot.charts import render_png
from handlers.review import review_chart, review_text
from locales import LANGUAGES, normalize_language
from storage.db import session_scope
from storage.models import School
from storage.review import monthly_review
from storage.schools import policy_of

EXIT_INVALID = 2


def cmd_review(context: Context, args: argparse.Namespace) -> int:
    """Print the school's review of the month; write its picture with --png."""
    try:
        year, month = (int(part) for part in args.month.split("-"))
        first = date(year, month, 1)
    except ValueError:
        sys.stderr.write(f"--month {args.month!r}: write it as YYYY-MM\n")
        return EXIT_INVALID
    last = date(year, month, calendar.monthrange(year, month)[1])
    with session_scope(context.engine) as session:
        school = session.execute(select(School).where(School.name == args.school)
                                 ).scalars().first()
        if school is None:
            sys.stderr.write(f"no school called {args.school!r}\n")
            return EXIT_INVALID
        language = normalize_language(args.language) if args.language else policy_of(
            school).language
        review = monthly_review(session, school, first, last, now=context.clock.now())
        name = school.name
    if args.json:
        sys.stdout.write(json.dumps(asdict(review), default=str, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(review_text(review, name, language) + "\n")
    if args.png:
        Path(args.png).write_bytes(render_png(review_chart(review, name, language)))
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`narvaro review`."""
    review = sub.add_parser("review", help="a school's monthly review (text, --json, --png)")
    review.add_argument("--school", required=True)
    review.add_argument("--month", required=True, metavar="YYYY-MM")
    review.add_argument("--language", choices=LANGUAGES, help="default: the school's")
    review.add_argument("--json", action="store_true", help="the figures as JSON")
    review.add_argument("--png", metavar="FILE", help="write the chart to FILE")
    review.set_defaults(handler=cmd_review)
