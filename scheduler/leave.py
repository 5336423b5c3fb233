"""Unanswered leave applications move up: after the school's number of school days the
mentor's application goes to the principal (the mentor is told). Until then, and after,
the decider's morning list shows it (its staff task, `scheduler.digest`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.leave import send_to_decider
from locales import gettext_for
from policy.leave import MENTOR, escalation_due, rules_for
from policy.routing import AUTO
from storage.leave import escalate, pending_applications, principals
from storage.models import Person, School, Student
from storage.outbox import enqueue
from storage.schools import school_calendar
from storage.tasks import student_label


def escalate_leave_applications(session: Session, now: datetime) -> int:
    """Send each application its mentor has left unanswered too long to the principal,
    once; returns how many moved."""
    moved = 0
    for application in pending_applications(session):
        if application.decider_role != MENTOR:
            continue
        student = session.get(Student, application.student_id)
        school = session.get(School, student.school_id) if student else None
        if student is None or school is None:
            continue
        rules = rules_for(school.country, school.settings)
        today = now.astimezone(ZoneInfo(school.timezone)).date()
        applied_on = application.applied_at.astimezone(ZoneInfo(school.timezone)).date()
        if not escalation_due(applied_on, today, school_calendar(session, school), rules):
            continue
        heads = principals(session, school.id or 0)
        if not heads:
            continue
        mentor = session.get(Person, application.decider_id) if application.decider_id \
            else None
        escalate(session, application, heads[0], now)
        lead = gettext_for(heads[0].language,
                           "Sent on to you: the mentor has not answered in {n} school days.",
                           n=rules.escalate_after_days)
        send_to_decider(session, application, now=now, lead=lead, key="escalated")
        if mentor is not None:
            enqueue(session, dedupe_key=f"leave:moved:{application.id}:{mentor.id}",
                    recipient_id=mentor.id, channel=AUTO, language=mentor.language, now=now,
                    text=gettext_for(
                        mentor.language,
                        "Leave application {ref} ({student}) has gone to the principal: not "
                        "answered in {n} school days.", ref=application.reference,
                        student=student_label(session, student), n=rules.escalate_after_days))
        moved += 1
    return moved
