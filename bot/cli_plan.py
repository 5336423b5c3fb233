"""`narvaro plan …`: a student's return plan from the command line — start, change, end,
list, and a guardian's word on messages to the student (given to the school by phone)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.context import Context
from policy.return_plan import (
    MAX_OWN_TEXT,
    evaluation_day,
    valid_deadline,
    weekdays_from,
)
from policy.text import one_line
from services.return_plans import announce, tell_trusted_adult, unreachable_because
from storage.db import session_scope
from storage.models import Person, ReturnPlan, School, Student
from storage.people import staff_member
from storage.reports import mentors_of
from storage.return_plans import (
    active_plan,
    add_encouragement,
    change_plan,
    end_plan,
    list_plans,
    own_encouragements,
    plan_days,
    set_messages_off,
    start_plan,
)
from storage.schools import school_calendar
from storage.tasks import student_label

EXIT_INVALID = 2


class Refused(Exception):
    """A plan command that cannot be carried out; its message says why."""


def cmd_plan(context: Context, args: argparse.Namespace) -> int:
    """`plan start|change|end|list|messages`: a student's return plan."""
    now = context.clock.now()
    try:
        with session_scope(context.engine) as session:
            if args.action == "list":
                return _list(session, args)
            student = session.execute(
                select(Student).where(Student.external_id == args.student)).scalars().first()
            school = session.get(School, student.school_id) if student else None
            if student is None or school is None:
                raise Refused(f"no student with id {args.student!r}")
            if args.action == "messages":
                changed = set_messages_off(session, student, args.state == "off", by=None,
                                           now=now)
                sys.stdout.write(f"Messages to the student {args.state}"
                                 f"{'' if changed else ' (no change)'}.\n")
                return 0
            if args.action == "start":
                return _start(session, args, student, school, context)
            plan = active_plan(session, student.id or 0)
            if plan is None:
                raise Refused("the student has no active return plan")
            if args.action == "end":
                end_plan(session, plan, by=None, now=now)
                sys.stdout.write("Return plan ended.\n")
                return 0
            return _change(session, args, plan, context)
    except Refused as refusal:
        sys.stderr.write(f"{refusal}\n")
        return EXIT_INVALID


def _start(session: Session, args: argparse.Namespace, student: Student, school: School,
           context: Context) -> int:
    now = context.clock.now()
    pupil = session.get(Person, student.person_id)
    refusal = unreachable_because(student, pupil, "en", student.external_id) if pupil else None
    if refusal:
        raise Refused(refusal)
    calendar = school_calendar(session, school)
    first = _day(args.start) or now.astimezone(ZoneInfo(school.timezone)).date()
    evaluate = _day(args.evaluate) or evaluation_day(first, calendar)
    morning = _time(args.time, "--time")
    answer_by = _time(args.answer_by, "--answer-by") if args.answer_by else None
    if answer_by is not None and not valid_deadline(answer_by, morning):
        raise Refused("--answer-by must be after --time and no later than 12:00")
    adult = _adult(session, args.adult, school)
    weekdays = _weekdays(args.days)
    mentors = mentors_of(session, student.id or 0)
    mentor = mentors[0] if mentors else None
    trusted = adult or mentor
    plan, new = start_plan(session, student.id or 0, by=None, starts_on=first,
                           evaluate_on=evaluate, morning_time=morning,
                           adult_id=trusted.id if trusted else None,
                           goal=_text(args.goal, "--goal"), now=now, weekdays=weekdays,
                           guardian_note=args.guardian_note, answer_by=answer_by)
    if new:
        plan.mentor_id = mentor.id if mentor else None
        session.add(plan)
        announce(session, plan, now)
    state = "started" if new else "already active"
    sys.stdout.write(f"Return plan {state}: from {plan.starts_on}, {plan.morning_time:%H:%M}, "
                     f"evaluation {plan.followup_on}.\n")
    return 0


def _change(session: Session, args: argparse.Namespace, plan: ReturnPlan,
            context: Context) -> int:
    now = context.clock.now()
    changes: dict[str, object] = {}
    if args.time:
        changes["morning_time"] = _time(args.time, "--time")
    if args.answer_by:
        changes["answer_by"] = _time(args.answer_by, "--answer-by")
    deadline = changes.get("answer_by", plan.answer_by)
    morning = changes.get("morning_time", plan.morning_time)
    if isinstance(deadline, time) and isinstance(morning, time) and not valid_deadline(
            deadline, morning):
        raise Refused("the answer deadline must be after the morning time and no later "
                      "than 12:00")
    if args.goal is not None:
        changes["goal"] = _text(args.goal, "--goal")
    if args.no_goal:
        changes["goal"] = None
    if args.days:
        changes["weekdays"] = _weekdays(args.days)
    if args.guardian_note is not None:
        changes["guardian_note"] = args.guardian_note
    if args.evaluate:
        changes["followup_on"] = _day(args.evaluate)
    student = session.get(Student, plan.student_id)
    school = session.get(School, student.school_id) if student else None
    adult = _adult(session, args.adult, school) if school else None
    if adult is not None:
        changes["trusted_adult_id"] = adult.id
    changed = change_plan(session, plan, by=None, now=now, **changes)
    if adult is not None and "trusted_adult_id" in changed:
        tell_trusted_adult(session, plan, adult, now)
    if args.add_text:
        add_encouragement(session, plan, _text(args.add_text, "--add-text") or "", by=None,
                          now=now)
        changed.append("own text added")
    sys.stdout.write(f"Return plan changed: {', '.join(changed) or 'nothing'}.\n")
    return 0


def _list(session: Session, args: argparse.Namespace) -> int:
    found = list_plans(session, student=args.student, ended=args.all)
    own = own_encouragements(session, [plan.id or 0 for plan, _student, _school in found])
    rows: list[dict[str, Any]] = []
    for plan, student, school in found:
        rows.append({
            "id": plan.id, "student_id": student.external_id,
            "student": student_label(session, student), "status": plan.status,
            "starts_on": plan.starts_on.isoformat(),
            "ends_on": plan.ends_on.isoformat() if plan.ends_on else None,
            "evaluate_on": plan.followup_on.isoformat() if plan.followup_on else None,
            "morning_time": f"{plan.morning_time:%H:%M}",
            "answer_by": f"{plan_days(plan, school).answer_by:%H:%M}",
            "weekdays": plan.weekdays, "trusted_adult_id": plan.trusted_adult_id,
            "goal": plan.goal, "guardian_note": plan.guardian_note,
            "own_texts": len(own.get(plan.id or 0, [])),
            "messages_off": student.messages_off and not student.adult,
        })
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        for row in rows:
            sys.stdout.write(f"{row['student_id']}\t{row['status']}\t{row['morning_time']}\t"
                             f"evaluate {row['evaluate_on']}\n")
    return 0


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _time(text: str, flag: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise Refused(f"{flag} {text!r} is not a time (HH:MM)") from None


def _weekdays(text: str) -> str:
    weekdays = weekdays_from(text)
    if weekdays is None:
        raise Refused(f"--days {text!r}: weekdays as 1-5 or mon,tue,…")
    return weekdays


def _text(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    text = one_line(text)
    if len(text) > MAX_OWN_TEXT:
        raise Refused(f"{flag}: {len(text)} characters; at most {MAX_OWN_TEXT}")
    return text or None


def _adult(session: Session, phone: str | None, school: School) -> Person | None:
    """The staff member of `school` with that phone number."""
    if not phone:
        return None
    adult = staff_member(session, phone, school.id or 0)
    if adult is None:
        raise Refused("no staff member of the student's school with that phone number")
    return adult
