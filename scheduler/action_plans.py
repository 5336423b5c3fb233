"""Action plans, run: each measure's owner is reminded at 08:00 on its day, once (staff with
their task's Done, guardians and students as a friendly note); on the evaluation day the
mentors get the plan period's attendance against the same number of school days before.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from locales import gettext_for
from policy.action_plans import share_absent
from policy.routing import AUTO
from scheduler.schools import SchoolsNow
from services.action_plans import NOT_WORKING, WORKING
from storage.attendance import absent_days
from storage.models import ActionPlan, Measure, Person, School, StaffTask, Student
from storage.outbox import MessageKind, enqueue
from storage.reports import mentors_of
from storage.tasks import TASK_DONE, add_task, student_label

#: Reminders and the evaluation reach people at the start of the school day.
REMIND_AT = time(8, 0)


def remind_measures(session: Session, now: datetime) -> int:
    """Measures due today reach their owners, once, from 08:00 (a day missed in downtime is
    not reminded late: it is past)."""
    queued = 0
    schools = SchoolsNow(session, now)
    for measure, _plan, student, school in session.execute(
        select(Measure, ActionPlan, Student, School)
        .join(ActionPlan, col(ActionPlan.id) == Measure.plan_id)
        .join(Student, col(Student.id) == ActionPlan.student_id)
        .join(School, col(School.id) == Student.school_id)
        .where(col(Measure.reminded_at).is_(None), ActionPlan.status == "active")
    ).all():
        at = schools.get(school)
        if at is None or measure.due_on != at.today or at.clock < REMIND_AT:
            continue
        owner = session.get(Person, measure.owner_id)
        measure.reminded_at = now
        session.add(measure)
        if owner is None:
            continue
        language = owner.language
        task = session.execute(select(StaffTask).where(
            StaffTask.dedupe_key == f"measure:{measure.id}")).scalars().first()
        if task is not None:
            text = gettext_for(language, "Today, from the action plan for {student}: {what}",
                               student=student_label(session, student), what=measure.what)
            choices = [{"key": f"{TASK_DONE}{task.id}", "label": gettext_for(language, "Done")}]
        else:
            text = gettext_for(language, "A friendly reminder from the school, from the plan "
                                         "you agreed on: {what}", what=measure.what)
            choices = None
        queued += enqueue(session, dedupe_key=f"measure:{measure.id}", recipient_id=owner.id,
                          kind=MessageKind.MEASURE, student_id=student.id,
                          task_id=task.id if task is not None else None,
                          channel=AUTO, language=language, now=now, text=text,
                          choices=choices)
    return queued


def evaluate_action_plans(session: Session, now: datetime) -> int:
    """On the evaluation day, from 08:00: the mentors' evaluation task, with absence during
    the plan and in as many school days before it, and Working / Not working."""
    queued = 0
    schools = SchoolsNow(session, now)
    for plan, student, school in session.execute(
        select(ActionPlan, Student, School)
        .join(Student, col(Student.id) == ActionPlan.student_id)
        .join(School, col(School.id) == Student.school_id)
        .where(ActionPlan.status == "active")
    ).all():
        at = schools.get(school)
        if at is None:
            continue
        started = at.clock >= REMIND_AT
        if at.today < plan.evaluate_on or (at.today == plan.evaluate_on and not started):
            continue
        calendar = at.calendar
        during = calendar.school_days(plan.starts_on, plan.evaluate_on - timedelta(days=1))
        start_before = calendar.add_school_days(plan.starts_on, -len(during))
        before = calendar.school_days(start_before, plan.starts_on - timedelta(days=1))
        away = absent_days(session, student.id or 0, before[0] if before else plan.starts_on,
                           plan.evaluate_on)
        away_during = len([d for d in during if d in away])
        away_before = len([d for d in before if d in away])
        for mentor in mentors_of(session, student.id or 0):
            task_id, new = add_task(session, dedupe_key=f"aplan-eval:{plan.id}:{mentor.id}",
                                  school_id=school.id or 0, student_id=student.id,
                                  assignee=mentor, kind="evaluate_plan", now=now)
            if not new:
                continue
            language = mentor.language
            queued += enqueue(
                session, dedupe_key=f"aplan-eval:{plan.id}:{mentor.id}",
                kind=MessageKind.ACTION_PLAN, student_id=plan.student_id, task_id=task_id,
                recipient_id=mentor.id, channel=AUTO, language=language, now=now,
                text=gettext_for(
                    language,
                    # Translators: to the mentor. {during} and {before}: absence in percent,
                    # over {days} school days each. (No "%" before a letter: gettext would
                    # take it for a format code.)
                    "Time to evaluate the action plan for {student}. Absence over its {days} "
                    "school days: {during} %; over the {days} school days before: {before} %. "
                    "Is the plan working?",
                    student=student_label(session, student),
                    during=share_absent(away_during, len(during)), days=len(during),
                    before=share_absent(away_before, len(before))),
                choices=[{"key": f"{WORKING}{plan.id}", "label": gettext_for(language,
                                                                               "It works")},
                         {"key": f"{NOT_WORKING}{plan.id}",
                          "label": gettext_for(language, "It does not work")}])
    return queued
