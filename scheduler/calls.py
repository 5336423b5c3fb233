"""Calls home that got no answer come back as a prompt at the time the mentor chose."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from scheduler.schools import SchoolsNow
from services.notices import remind_call
from storage.models import Person, School
from storage.notices import call_days, snoozed_calls_due
from storage.tasks import task_student


def remind_snoozed_calls(session: Session, now: datetime) -> int:
    """Reopen each call snoozed until now; prompt its mentor again while the school day
    lasts (after it, the morning summary carries the call). Returns how many prompts were
    queued."""
    queued = 0
    schools = SchoolsNow(session, now)
    tasks = snoozed_calls_due(session, now)
    days = call_days(session, [task.id or 0 for task in tasks])
    for task in tasks:
        student = task_student(session, task)
        mentor = session.get(Person, task.assignee_id)
        found = session.get(School, task.school_id)
        school = schools.get(found) if found is not None else None
        day = days.get(task.id or 0)
        if student is None or mentor is None or school is None or day is None:
            continue
        remind_at = task.remind_at
        task.status, task.remind_at = "open", None
        asked_for = remind_at.astimezone(school.zone).date() if remind_at else None
        if asked_for != school.today or school.clock >= school.rules.day_ends:
            continue  # the school day is over: the morning summary carries it
        queued += remind_call(session, task, student, mentor, day, school.today, school.zone,
                              school.rules, snoozed_until=remind_at or now, now=now)
    return queued
