"""A plan's tasks reach their owners: on the day they fall due, once, with one-tap answers
that fit the task (a call reached, a meeting held or booked, done); a booked meeting is
recalled the school day before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_day
from policy.routing import AUTO
from scheduler.schools import SchoolsNow
from services.task_buttons import task_choices
from storage.models import Person, School, StaffTask
from storage.outbox import MessageKind, about, enqueue_many
from storage.plan_tasks import LADDER_PREFIX, plan_task
from storage.tasks import student_label, task_student

#: How far ahead booked meetings are looked at for their reminder (a long weekend included).
_REMIND_AHEAD = timedelta(days=6)


def nudge_due_tasks(session: Session, now: datetime) -> int:
    """Each open plan task reaches its owner on the day it falls due, once; a snoozed one
    again when its time comes; a booked meeting also the school day before."""
    tasks = list(session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                                StaffTask.status == "open", StaffTask.due_at <= now)
    ).scalars())
    woken = list(session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                                StaffTask.status == "snoozed", col(StaffTask.remind_at) <= now)
    ).scalars())
    messages = []
    for task in tasks + woken:
        again = f":{task.remind_at.isoformat()}" if task.remind_at else ""
        if task.status == "snoozed":
            task.status, task.remind_at = "open", None  # put off until now: it comes again
        message = _nudge(session, task, f"nudge:{task.id}{again}", tomorrow=False)
        if message is not None:
            messages.append(message)
    messages += _day_before(session, now)
    return len(enqueue_many(session, messages, now=now))


def _day_before(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Booked meetings whose day is the next school day: a reminder, once."""
    found = []
    schools = SchoolsNow(session, now)
    for task in session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                                col(StaffTask.dedupe_key).contains(":b"),
                                StaffTask.status == "open", StaffTask.due_at > now,
                                StaffTask.due_at <= now + _REMIND_AHEAD)
    ).scalars():
        school = session.get(School, task.school_id)
        at = schools.get(school) if school is not None else None
        if at is None or not task.dedupe_key.rsplit(":", 1)[-1].startswith("b"):
            continue
        zone, today = at.zone, at.today
        meeting_day = task.due_at.astimezone(zone).date()
        try:
            before = at.calendar.add_school_days(meeting_day, -1)
        except ValueError:
            continue
        # Booked on the day before or later: the booking itself was the reminder.
        if before == today and at.local.hour >= 8 and (
                task.created_at.astimezone(zone).date() < before):
            message = _nudge(session, task, f"remind-before:{task.id}", tomorrow=True)
            if message is not None:
                found.append(message)
    return found


def _nudge(session: Session, task: StaffTask, key: str, *,
           tomorrow: bool) -> dict[str, Any] | None:
    student = task_student(session, task)
    owner = session.get(Person, task.assignee_id)
    school = session.get(School, task.school_id)
    origin = plan_task(session, task)
    if student is None or owner is None or school is None or origin is None:
        return None
    language = owner.language
    due = task.due_at.astimezone(ZoneInfo(school.timezone)).date()
    label = student_label(session, student)
    if tomorrow:
        text = gettext_for(
            language,
            # Translators: the day before a booked meeting; {what}: the task in the plan's
            # words; {student}: "Name (class)"; {day}: the meeting's date.
            "Reminder: {what}: {student}, booked for tomorrow, {day}.", what=origin.rule.what,
            student=label, day=format_day(due, language).rstrip("."))
    else:
        text = gettext_for(
            language,
            # Translators: a task from the school's plan reaches staff; {what}: the task in
            # the plan's own words; {student}: "Name (class)"; {day}: its due date.
            "{what}: {student}, due {day}.", what=origin.rule.what, student=label,
            day=format_day(due, language).rstrip("."))
    return {**about(MessageKind.TASK_NUDGE, student_id=student.id, task_id=task.id),
            "dedupe_key": key, "recipient_id": owner.id, "channel": AUTO, "language": language,
            "text": text, "choices": task_choices(origin, task.id or 0, language)}
