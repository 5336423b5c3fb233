"""The schools as a sweep sees them at `now`: zone, local time, calendar and rules, read
once per school and sweep run.

A school whose policy cannot be read is an error that says so: logged with the school's
id and skipped for that sweep run (never run on another school's plan); `narvaro tick` and
`narvaro run` name it too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from policy.calendar import SchoolCalendar
from policy.notices import NoticeRules
from policy.presets import PolicyPreset
from storage.models import School
from storage.schools import PolicyUnreadable, notice_rules, policy_of, school_calendar

log = logging.getLogger(__name__)


class SchoolNow:
    """One school at one instant: its zone, local time, policy and notice rules (read when
    made), and its calendar (read when first asked for)."""

    def __init__(self, session: Session, school: School, now: datetime) -> None:
        self._session = session
        self.school = school
        self.id: int = school.id or 0
        self.zone = ZoneInfo(school.timezone)
        #: The local time, aware, in the school's zone.
        self.local = now.astimezone(self.zone)
        self.policy: PolicyPreset = policy_of(school)
        self.rules: NoticeRules = notice_rules(school)

    @property
    def today(self) -> date:
        """The school's local date."""
        return self.local.date()

    @property
    def clock(self) -> time:
        """The school's local wall-clock time, naive (as the policy's times are)."""
        return self.local.time().replace(tzinfo=None)

    @cached_property
    def calendar(self) -> SchoolCalendar:
        """The school's calendar: its country's holidays, its terms and breaks."""
        return school_calendar(self._session, self.school)

    def at(self, day: date, clock: time) -> datetime:
        """`clock` on `day` at the school, as an aware instant."""
        return datetime.combine(day, clock, self.zone)


def each_school(session: Session, now: datetime, *,
                only: Iterable[int] | None = None) -> Iterator[SchoolNow]:
    """Every school (or those with ids in `only`) as of `now`, in id order; a school whose
    policy cannot be read is logged and skipped."""
    query = select(School).order_by(col(School.id))
    if only is not None:
        query = query.where(col(School.id).in_(list(only)))
    for school in session.exec(query).all():
        found = school_now(session, school, now)
        if found is not None:
            yield found


def school_now(session: Session, school: School, now: datetime) -> SchoolNow | None:
    """`school` as of `now`, or None (logged) when its policy cannot be read."""
    try:
        return SchoolNow(session, school, now)
    except PolicyUnreadable as error:
        log.error("skipped: %s", error)
        return None


class SchoolsNow:
    """The schools met while walking rows that each belong to one (plans, measures,
    tasks), each read once; None for a school whose policy cannot be read (logged once)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session, self._now = session, now
        self._found: dict[int, SchoolNow | None] = {}

    def get(self, school: School) -> SchoolNow | None:
        """`school` as of the instant given, read on first use."""
        ident = school.id or 0
        if ident not in self._found:
            self._found[ident] = school_now(self._session, school, self._now)
        return self._found[ident]
