"""The monthly review reaches each school's principals and coordinators on the first school
day of the month, from 08:00, about the month before: once, in their language."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from policy.routing import AUTO
from services.review import review_chart, review_text
from storage.models import Person, School, StaffRole
from storage.outbox import MessageKind, enqueue
from storage.review import monthly_review
from storage.schools import school_calendar

SEND_AT = time(8, 0)
READERS = ("principal", "coordinator")


def send_monthly_reviews(session: Session, now: datetime) -> int:
    """Each school's review of last month, on this month's first school day."""
    queued = 0
    for school in session.execute(select(School)).scalars():
        local = now.astimezone(ZoneInfo(school.timezone))
        today = local.date()
        calendar_ = school_calendar(session, school)
        month_start = today.replace(day=1)
        first_day = next((day for day in calendar_.school_days(
            month_start, month_start + timedelta(days=27))), None)
        if first_day != today or local.time().replace(tzinfo=None) < SEND_AT:
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
