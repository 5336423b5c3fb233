"""The monthly review reaches each school's principals and coordinators on the first school
day of the month, from 08:00, about the month before: once, in their language."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from policy.routing import AUTO
from scheduler.schools import each_school
from services.review import review_chart, review_text
from storage.models import Person, StaffRole
from storage.outbox import MessageKind, enqueue
from storage.review import monthly_review

SEND_AT = time(8, 0)
READERS = ("principal", "coordinator")


def send_monthly_reviews(session: Session, now: datetime) -> int:
    """Each school's review of last month, on this month's first school day."""
    queued = 0
    for found in each_school(session, now):
        school, today = found.school, found.today
        month_start = today.replace(day=1)
        first_day = next((day for day in found.calendar.school_days(
            month_start, month_start + timedelta(days=27))), None)
        if first_day != today or found.clock < SEND_AT:
            continue
        last = month_start - timedelta(days=1)
        first = last.replace(day=1)
        readers = list(session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(StaffRole.school_id == school.id, col(StaffRole.role).in_(READERS))
            .distinct()).scalars())
        if not readers:
            continue
        review = monthly_review(session, school, first, date(
            first.year, first.month, calendar.monthrange(first.year, first.month)[1]),
            now=now)
        for reader in readers:
            queued += enqueue(
                session, dedupe_key=f"review:{school.id}:{first:%Y-%m}:{reader.id}",
                kind=MessageKind.REVIEW,
                recipient_id=reader.id, channel=AUTO, language=reader.language, now=now,
                text=review_text(review, school.name, reader.language),
                attachment={"chart": review_chart(review, school.name, reader.language),
                            "link": "/overview"})
    return queued
