"""`narvaro leave list|decide|set`: the office's view of leave applications, a decision
taken on paper or by phone recorded here (audited, the guardian told), and a school's
rules for who decides."""

from __future__ import annotations

import argparse
import json
import sys

from sqlmodel import select

from bot.cli_common import fail, school_named
from bot.context import Context
from policy.leave import PENDING, REFUSALS, SETTING, WITHDRAWN, setting_problem
from services.leave import settle
from storage.audit import audit
from storage.db import session_scope
from storage.leave import days_of, list_applications
from storage.models import LeaveApplication


def cmd_leave(context: Context, args: argparse.Namespace) -> int:
    """`leave list`, `leave decide REF`, `leave set SCHOOL KEY=VALUE…`."""
    if args.action == "list":
        return _list(context, args)
    if args.action == "decide":
        return _decide(context, args)
    return _set(context, args)


def _list(context: Context, args: argparse.Namespace) -> int:
    with session_scope(context.engine) as session:
        rows = list_applications(session, status=args.status, student=args.student)
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return 0
    for row in rows:
        sys.stdout.write(
            f"{row['reference']}  {row['student_id']}  {row['first_day']}..{row['last_day']}"
            f"{'  ' + str(row['part']) if row['part'] else ''}  {row['status']}  "
            f"{row['decider_role']}  granted {len(row['granted'])}  "  # type: ignore[arg-type]
            f"refused {len(row['refused'])}  pending {len(row['pending'])}\n")  # type: ignore[arg-type]
    return 0


def _decide(context: Context, args: argparse.Namespace) -> int:
    now = context.clock.now()
    with session_scope(context.engine) as session:
        application = session.execute(select(LeaveApplication).where(
            LeaveApplication.reference == args.reference.strip().upper())).scalars().first()
        if application is None:
            return fail(f"no leave application {args.reference!r} (see `narvaro leave list`)")
        if application.status == WITHDRAWN:
            return fail(f"{application.reference} was withdrawn by the applicant")
        pending = [row.day for row in days_of(session, application.id or 0)
                   if row.decision == PENDING]
        if not pending:
            return fail(f"{application.reference} is already decided")
        if args.grant_all:
            granted, refused = pending, []
        elif args.refuse_all:
            granted, refused = [], pending
        else:
            granted, refused = list(args.grant or []), list(args.refuse or [])
        unknown = sorted({*granted, *refused} - set(pending))
        if unknown:
            return fail(f"{', '.join(d.isoformat() for d in unknown)}: not a pending day of "
                        f"{application.reference} (pending: "
                        f"{', '.join(d.isoformat() for d in pending)})")
        if set(granted) & set(refused):
            return fail("a day cannot be both granted and refused")
        if not granted and not refused:
            return fail("say which days: --grant DAY, --refuse DAY, --grant-all or --refuse-all")
        if refused and args.reason is None and not args.note:
            return fail(f"refused days need --reason ({', '.join(REFUSALS)}) or --note")
        settle(session, application, granted=granted, refused=refused, by=None,
               refusal=args.reason or "other", refusal_note=args.note, now=now)
    sys.stdout.write(f"Decided {args.reference}: {len(granted)} day(s) granted, "
                     f"{len(refused)} refused; the guardian is told.\n")
    return 0


def _set(context: Context, args: argparse.Namespace) -> int:
    values: dict[str, int] = {}
    for setting in args.setting:
        key, _, value = setting.partition("=")
        problem = setting_problem(key.strip(), value.strip())
        if problem is not None:
            return fail(f"{setting}: {problem}")
        values[key.strip()] = int(value.strip())
    with session_scope(context.engine) as session:
        school = school_named(session, args.school)
        if school is None:
            return fail(f"no school {args.school!r}")
        school.settings = {**school.settings,
                           SETTING: {**school.settings.get(SETTING, {}), **values}}
        session.add(school)
        audit(session, at=context.clock.now(), actor="cli", action="leave.settings",
              entity="school", entity_id=school.id, **values)
    sys.stdout.write(f"Leave settings of {args.school}: {values}\n")
    return 0
