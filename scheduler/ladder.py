"""The escalation ladder, run: students move between steps; steps give staff tasks; due
tasks reach their owner's phone.

A sweep reads the counters of every student whose roll call changed since it last looked,
moves them on their school's ladder (`policy.ladder`), and on entering a step creates its
tasks once, for the people the plan names, due on school days at the start of the day.
Recurring tasks continue every N weeks while the step holds. When a student leaves a step
(the counters fell below it) the mentor is told and its recurring tasks stop. A second
sweep sends each task to its owner on the day it is due, with one-tap answers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_day
from policy.calendar import SchoolCalendar
from policy.ladder import Ladder, Record, Step, counters, term_of
from policy.routing import AUTO
from storage.db import chunks
from storage.models import Absence, LadderPosition, Person, School, StaffRole, StaffTask, Student
from storage.outbox import enqueue, enqueue_many
from storage.reports import mentors_of
from storage.schools import school_calendar
from storage.tasks import (
    LADDER_PREFIX,
    TASK_DONE,
    TASK_HANDOVER,
    TASK_NOT_NEEDED,
    TASK_TOMORROW,
    add_tasks,
    ladder_named,
    plan_words,
    student_label,
)

log = logging.getLogger(__name__)
#: Tasks are due at the start of the school day, in the school's time zone.
DUE_AT = time(8, 0)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def advance_ladders(session: Session, now: datetime) -> int:
    """Move every student whose roll call changed; returns how many tasks were created."""
    created = 0
    for school in session.execute(select(School)).scalars():
        ladder = ladder_named(school.policy)
        if ladder is not None:
            created += _school(session, school, ladder, now)
    return created


def _school(session: Session, school: School, ladder: Ladder, now: datetime) -> int:
    zone = ZoneInfo(school.timezone)
    today = now.astimezone(zone).date()
    calendar = school_calendar(session, school)
    term = term_of(calendar, today)
    positions = {p.student_id: p for p in session.execute(
        select(LadderPosition).join(Student, col(Student.id) == LadderPosition.student_id)
        .where(Student.school_id == school.id)).scalars()}
    changed = session.execute(
        select(Absence.student_id, func.max(Absence.updated_at))
        .join(Student, col(Student.id) == Absence.student_id)
        .where(Student.school_id == school.id, col(Absence.day) >= term.start)
        .group_by(col(Absence.student_id))
    ).all()
    due = [student_id for student_id, updated in changed
           if student_id not in positions or updated > positions[student_id].evaluated_at]
    # Students on a step are read every day too: weeks without improvement move them on.
    seen = set(due)
    due += [student_id for student_id, position in positions.items()
            if position.step_id and position.evaluated_at.astimezone(zone).date() < today
            and student_id not in seen]
    if not due:
        return 0
    records = _records(session, due, term.start, today)
    school_days = calendar.school_days(term.start, today)
    steps = {step.id: step for step in ladder.steps}
    created = 0
    for student_id in due:
        position = positions.get(student_id) or LadderPosition(student_id=student_id)
        on = steps.get(position.step_id or "")
        weeks = ((now - position.entered_at).days / 7) if position.entered_at else 0.0
        found = counters(records.get(student_id, []), calendar, today, weeks_in_step=weeks,
                         school_days=school_days)
        new = ladder.advance(on, found)
        position.evaluated_at = now
        if new is not on:
            created += _move(session, school, calendar, student_id, on, new, today, now)
            position.step_id = new.id if new else None
            position.level = new.level if new else 0
            position.entered_at = now if new else None
        if new is not None:
            created += _recurring(session, school, calendar, student_id, new, position, today,
                                  now)
        session.add(position)
    return created


def _records(session: Session, students: list[int], first: date,
             last: date) -> dict[int, list[Record]]:
    found: dict[int, list[Record]] = defaultdict(list)
    for part in chunks(students):
        for student_id, day, kind, state, start, end in session.execute(
            select(Absence.student_id, Absence.day, Absence.kind, Absence.state,
                   Absence.lesson_start, Absence.lesson_end)
            .where(col(Absence.student_id).in_(part),
                   col(Absence.day) >= first, col(Absence.day) <= last)
        ).all():
            found[student_id].append(Record(day, kind, state, start, end))
    return found


def _move(
    session: Session, school: School, calendar: SchoolCalendar, student_id: int,
    on: Step | None, new: Step | None, today: date, now: datetime,
) -> int:
    """Enter `new` (its tasks, once) or leave `on` (the mentor is told)."""
    student = session.get(Student, student_id)
    if student is None:
        return 0
    if new is not None and (on is None or new.level > on.level):
        log.info("ladder: student %s enters step %s", student_id, new.id)
        return _create(session, school, calendar, student, new, today, now, occurrence=0)
    log.info("ladder: student %s leaves step %s", student_id, on.id if on else "-")
    if on is None or not any(rule.every_weeks for rule in on.tasks):
        return 0  # nothing recurring stops: nothing to tell
    label = student_label(session, student)
    for mentor in mentors_of(session, student_id):
        enqueue(session, dedupe_key=f"ladder-left:{student_id}:{on.id if on else '-'}:"
                f"{today.isoformat()}:{mentor.id}", recipient_id=mentor.id, channel=AUTO,
                language=mentor.language, now=now, text=gettext_for(
                    mentor.language,
                    # Translators: to a mentor; {student}: "Name (class)"; {step}: the plan's
                    # words for the step.
                    "{student} no longer meets the step \u201c{step}\u201d of the plan; its "
                    "recurring tasks have stopped.", student=label, step=_step_name(on)))
    for task in session.execute(select(StaffTask).where(
            col(StaffTask.dedupe_key).like(f"{LADDER_PREFIX}{student_id}:{on.id}:%"),
            col(StaffTask.status).in_(["open", "snoozed"]))).scalars():
        if task.dedupe_key.rsplit(":", 1)[-1].startswith("r"):  # a recurring occurrence
            task.status, task.outcome, task.done_at = "not_needed", "step_left", now
    return 0


def _step_name(step: Step | None) -> str:
    if step is None:
        return ""
    return step.tasks[0].what if step.tasks else step.id


def _recurring(
    session: Session, school: School, calendar: SchoolCalendar, student_id: int, step: Step,
    position: LadderPosition, today: date, now: datetime,
) -> int:
    """The next occurrence of each recurring task of the step, when its week has come."""
    if position.entered_at is None or not any(rule.every_weeks for rule in step.tasks):
        return 0
    student = session.get(Student, student_id)
    if student is None:
        return 0
    weeks = (now - position.entered_at).days // 7
    created = 0
    for rule in step.tasks:
        if rule.every_weeks and weeks >= rule.every_weeks:
            occurrence = weeks // rule.every_weeks
            created += _create(session, school, calendar, student, step, today, now,
                               occurrence=occurrence, only=rule)
    return created


def _create(
    session: Session, school: School, calendar: SchoolCalendar, student: Student, step: Step,
    today: date, now: datetime, *, occurrence: int, only: Any = None,
) -> int:
    zone = ZoneInfo(school.timezone)
    rows = []
    for index, rule in enumerate(step.tasks):
        if only is not None and rule is not only:
            continue
        if rule.kind == "call_home" and rule.due == "same_day" and _called_today(
                session, student, today):
            continue  # the same-day notice already gave the mentor this call
        try:
            due_day = rule.due_on(today, calendar)
        except ValueError:
            due_day = today
        for person in _owners(session, school, student, rule.who):
            tag = f"r{occurrence}" if occurrence else "t"
            rows.append({
                "dedupe_key": f"{LADDER_PREFIX}{student.id}:{step.id}:{index}:{person.id}:{tag}",
                "school_id": school.id, "student_id": student.id, "assignee_id": person.id,
                "kind": rule.kind,
                "due_at": datetime.combine(due_day, DUE_AT, zone).astimezone(UTC),
            })
    return len(add_tasks(session, rows, now=now))


def _called_today(session: Session, student: Student, today: date) -> bool:
    return session.execute(select(StaffTask.id).where(
        col(StaffTask.dedupe_key).startswith(f"call-home:{student.id}:{today.isoformat()}:")
    )).first() is not None


def _owners(session: Session, school: School, student: Student, who: str) -> list[Person]:
    """The people a plan's role means for this student (the mentors, the school's nurse…)."""
    if who == "mentor":
        found = mentors_of(session, student.id or 0)
    else:
        roles = {"health_team": ["nurse", "counsellor"]}.get(who, [who])
        found = list(session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(StaffRole.school_id == school.id, col(StaffRole.role).in_(roles))
            .order_by(col(Person.id))).scalars().unique())
    if found:
        return found
    # Nobody in the roster has that role: the principal, else the mentors, take it.
    principal = list(session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == school.id, StaffRole.role == "principal")
        .order_by(col(Person.id))).scalars().unique())
    return principal or mentors_of(session, student.id or 0)


def nudge_due_tasks(session: Session, now: datetime) -> int:
    """Each open ladder task reaches its owner on the day it falls due, once."""
    tasks = list(session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                                StaffTask.status == "open", StaffTask.due_at <= now)
    ).scalars())
    woken = list(session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                                StaffTask.status == "snoozed", StaffTask.remind_at <= now)
    ).scalars())
    messages = []
    for task in tasks + woken:
        again = f":{task.remind_at.isoformat()}" if task.remind_at else ""
        if task.status == "snoozed":
            task.status, task.remind_at = "open", None  # put off until now: it comes again
        student = session.get(Student, task.student_id) if task.student_id else None
        owner = session.get(Person, task.assignee_id)
        school = session.get(School, task.school_id)
        what = plan_words(session, task)
        if student is None or owner is None or school is None or what is None:
            continue
        language = owner.language
        due = task.due_at.astimezone(ZoneInfo(school.timezone)).date()
        messages.append({
            "dedupe_key": f"nudge:{task.id}{again}", "recipient_id": owner.id, "channel": AUTO,
            "language": language,
            "text": gettext_for(
                language,
                # Translators: a task from the school's plan reaches staff; {what}: the task in
                # the plan's own words; {student}: "Name (class)"; {day}: its due date.
                "{what}: {student}, due {day}.", what=what,
                student=student_label(session, student),
                day=format_day(due, language).rstrip(".")),
            "choices": [
                {"key": f"{TASK_DONE}{task.id}", "label": gettext_for(language, "Done")},
                {"key": f"{TASK_TOMORROW}{task.id}",
                 "label": gettext_for(language, "Remind me tomorrow")},
                {"key": f"{TASK_HANDOVER}{task.id}",
                 "label": gettext_for(language, "Hand over")},
                {"key": f"{TASK_NOT_NEEDED}{task.id}",
                 "label": gettext_for(language, "Not needed")},
            ],
        })
    return len(enqueue_many(session, messages, now=now))
