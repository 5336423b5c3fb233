"""A class with no roll call by the set time gets its mentors a reminder (not notices)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from scheduler.schools import each_school
from services.notices import remind_roll_call
from storage.notices import class_mentors, roll_call_classes


def remind_missing_roll_calls(session: Session, now: datetime) -> int:
    """Remind the mentors of each class without a roll call today, once, from the school's
    time until its day ends; only at schools that take roll call class by class with
    Närvaro (storage.notices.roll_call_classes). Returns how many reminders were queued."""
    queued = 0
    for school in each_school(session, now):
        if not school.rules.roll_call_by <= school.clock < school.rules.day_ends:
            continue
        if not school.calendar.is_school_day(school.today):
            continue
        found = roll_call_classes(session, school.id, school.today)
        if found is None:
            continue
        classes, done_today = found
        for klass in classes:
            if klass.id in done_today:
                continue
            for mentor in class_mentors(session, klass.id or 0):
                queued += remind_roll_call(session, klass, mentor, school.today, now)
    return queued
