"""`narvaro actionplan add|list --student ID`: a student's action plan from the command line
(after a meeting, by whoever keeps the minutes): measures as "PHONE|what|YYYY-MM-DD", each
owned by the student, a guardian or a staff member of the school, who is reminded on its
day; the evaluation after two weeks of school unless --evaluate says otherwise."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.cli_common import fail, student_with_id
from bot.context import Context
from policy.action_plans import EVALUATE_AFTER_SCHOOL_DAYS, MAX_WHAT
from policy.text import one_line
from services.action_plans import owners_of
from storage.action_plans import NewMeasure, measures_of, record_plan
from storage.db import session_scope
from storage.models import ActionPlan, School
from storage.plan_tasks import due_at
from storage.schools import school_calendar


def cmd_action_plan(context: Context, args: argparse.Namespace) -> int:
    """Record a plan's measures, or list the student's plans."""
    now = context.clock.now()
    with session_scope(context.engine) as session:
        student = student_with_id(session, args.student)
        school = session.get(School, student.school_id) if student else None
        if student is None or school is None:
            return fail(f"no student with id {args.student!r}")
        if args.action == "list":
            plans = session.execute(select(ActionPlan).where(
                ActionPlan.student_id == student.id).order_by(col(ActionPlan.id))).scalars()
            rows = [{"id": plan.id, "status": plan.status,
                     "starts_on": plan.starts_on.isoformat(),
                     "evaluate_on": plan.evaluate_on.isoformat(),
                     "measures": [{"level": m.level, "what": m.what, "owner_id": m.owner_id,
                                   "due_on": m.due_on.isoformat()}
                                  for m in measures_of(session, plan.id or 0)]}
                    for plan in plans]
            sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
            return 0
        zone = ZoneInfo(school.timezone)
        today = now.astimezone(zone).date()
        by_phone = {person.phone: (person, level) for person, level in owners_of(session, student)
                    if person.phone}
        measures, problems = [], []
        for number, written in enumerate(args.measure, 1):
            phone, _, rest = written.partition("|")
            what, _, day = rest.rpartition("|")
            owner = by_phone.get(phone.strip())
            try:
                due = date.fromisoformat(day.strip())
            except ValueError:
                due = None
            what = one_line(what)
            if owner is None:
                problems.append(f"--measure {number}: {phone.strip()!r} is not the student, a "
                                "guardian or staff of the school")
            elif due is None or due < today:
                problems.append(f"--measure {number}: the date must be YYYY-MM-DD, not past")
            elif not what or len(what) > MAX_WHAT:
                problems.append(f"--measure {number}: what, in 1 to {MAX_WHAT} characters")
            else:
                measures.append(NewMeasure(owner[1], what, owner[0], due))
        if problems:
            return fail("\n".join(problems) + "\nNothing was saved.")
        try:
            evaluate = (date.fromisoformat(args.evaluate) if args.evaluate else
                        school_calendar(session, school).add_school_days(
                            today, EVALUATE_AFTER_SCHOOL_DAYS))
        except ValueError:
            return fail("--evaluate must be YYYY-MM-DD")
        plan = record_plan(session, student, measures, by=None, starts_on=today,
                           evaluate_on=evaluate,
                           due_at={m.due_on: due_at(m.due_on, zone) for m in measures}, now=now)
        sys.stdout.write(f"Action plan {plan.id} saved: {len(measures)} measures, evaluation "
                         f"{evaluate}.\n")
    return 0
