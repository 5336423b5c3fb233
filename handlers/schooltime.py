"""A school's local time, calendar and plan, as the handlers need them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from policy.calendar import SchoolCalendar
from policy.presets import PolicyPreset
from storage.models import School, SchoolClass, Student
from storage.schools import installation_zone, school_calendar


def zone_for(session: Session, school: School | None) -> ZoneInfo:
    """The school's time zone; the installation's own for a person no school is known for."""
    return ZoneInfo(school.timezone) if school else installation_zone(session)


def local_now(school: School | None, now: datetime, *, session: Session) -> datetime:
    """`now` in the school's time zone; with no school, in the installation's."""
    return now.astimezone(zone_for(session, school))


def local_today(school: School | None, now: datetime, *, session: Session) -> date:
    """Today's date at the school (with no school, in the installation's zone)."""
    return local_now(school, now, session=session).date()


def calendar_for(session: Session, school: School | None, policy: PolicyPreset) -> SchoolCalendar:
    """The school's calendar (the country's holidays only when the school is unknown)."""
    if school is None:
        return SchoolCalendar(country=policy.country)
    return school_calendar(session, school)


def class_name(session: Session, student: Student) -> str:
    """The name of the student's class."""
    school_class = session.get(SchoolClass, student.class_id)
    return school_class.name if school_class else ""
