"""Unanswered leave applications move up: after the school's number of school days the
mentor's application goes to the principal (the mentor is told). Until then, and after,
the decider's morning list shows it (its staff task, `scheduler.digest`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from locales import gettext_for
from policy.leave import MENTOR, escalation_due, rules_for
from scheduler.schools import SchoolNow, each_school
from services.leave import send_to_decider, tell
from storage.leave import escalate, pending_applications, principals
from storage.models import LeaveApplication, Person, Student
from storage.tasks import student_label


def escalate_leave_applications(session: Session, now: datetime) -> int:
    """Send each application its mentor has left unanswered too long to the principal,
    once; returns how many moved."""
    moved = 0
    for school in each_school(session, now):
        for application in pending_applications(session, school.id):
            if application.decider_role == MENTOR and _escalate(session, school, application,
                                                                now):
                moved += 1
    return moved


def _escalate(session: Session, school: SchoolNow, application: LeaveApplication,
              now: datetime) -> bool:
    student = session.get(Student, application.student_id)
    if student is None:
        return False
    rules = rules_for(school.school.country, school.school.settings)
    applied_on = application.applied_at.astimezone(school.zone).date()
    if not escalation_due(applied_on, school.today, school.calendar, rules):
        return False
    heads = principals(session, school.id)
    if not heads:
        return False
    mentor = session.get(Person, application.decider_id) if application.decider_id else None
    escalate(session, application, heads[0], now)
    lead = gettext_for(heads[0].language,
                       "Sent on to you: the mentor has not answered in {n} school days.",
                       n=rules.escalate_after_days)
    send_to_decider(session, application, now=now, lead=lead, key="escalated")
    if mentor is not None:
        tell(session, application, mentor,
             key=f"leave:moved:{application.id}:{mentor.id}", now=now,
             text=gettext_for(
                 mentor.language,
                 "Leave application {ref} ({student}) has gone to the principal: not "
                 "answered in {n} school days.", ref=application.reference,
                 student=student_label(session, student), n=rules.escalate_after_days))
    return True
