"""Schools, their calendars and their policies."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from policy.calendar import DateRange, SchoolCalendar
from policy.notices import NoticeRules, rules_from
from policy.presets import PolicyPreset, load_policy
from storage.db import table_of
from storage.models import CalendarPeriod, School

#: The plan of a person no school is known for (never a school's: each names its own).
DEFAULT_POLICY = "ljusnarsberg"


def ensure_school(
    session: Session, name: str, *, policy: PolicyPreset, timezone: str, now: datetime
) -> School:
    """The school called `name`, created with the policy's country and language if new."""
    school = session.exec(select(School).where(School.name == name)).first()
    if school is None:
        school = School(
            name=name, country=policy.country, language=policy.language, timezone=timezone,
            policy=policy.name, created_at=now,
        )
        session.add(school)
        session.flush()
    return school


def school_zone(session: Session, school_id: int) -> ZoneInfo:
    """The time zone of the school `school_id` (every school has one; `school set` and the
    settings check it); LookupError for a school that does not exist."""
    school = session.get(School, school_id)
    if school is None:
        raise LookupError(f"no school {school_id}")
    return ZoneInfo(school.timezone)


@cache
def _periods_query() -> Any:
    # Built once: every report reads its school's calendar.
    table = table_of(CalendarPeriod)
    return select(table.c.kind, table.c.name, table.c.start, table.c.end).where(
        table.c.school_id == bindparam("school"))


def school_calendar(session: Session, school: School) -> SchoolCalendar:
    """The school's calendar: its country's holidays plus its own terms and breaks."""
    periods = session.execute(_periods_query(), {"school": school.id}).all()
    terms = tuple(DateRange(p.start, p.end, p.name) for p in periods if p.kind == "term")
    breaks = tuple(DateRange(p.start, p.end, p.name) for p in periods if p.kind == "break")
    return SchoolCalendar(country=school.country, terms=terms, breaks=breaks, default_year=True)


def without_terms(session: Session) -> list[School]:
    """The schools that have imported no terms (their country's default year holds)."""
    with_terms = set(session.exec(select(CalendarPeriod.school_id).where(
        CalendarPeriod.kind == "term")).all())
    return [school for school in session.exec(select(School)).all()
            if school.id not in with_terms]


def set_period(
    session: Session, school: School, *, kind: str, name: str, start: date, end: date
) -> CalendarPeriod:
    """Add or replace (by school, kind and start date) a term or a break."""
    period = session.exec(
        select(CalendarPeriod).where(
            CalendarPeriod.school_id == school.id,
            CalendarPeriod.kind == kind,
            CalendarPeriod.start == start,
        )
    ).first()
    if period is None:
        assert school.id is not None
        period = CalendarPeriod(school_id=school.id, kind=kind, name=name, start=start, end=end)
    else:
        period.name, period.end = name, end
    session.add(period)
    return period


class PolicyUnreadable(ValueError):
    """A school's policy (a preset name or a policy file) cannot be read."""

    def __init__(self, school_id: int | None, name: str, why: str) -> None:
        super().__init__(f"school {school_id}: its policy {name!r} cannot be read: {why}")
        self.school_id, self.name, self.why = school_id, name, why


@lru_cache(maxsize=64)
def _load(name: str) -> PolicyPreset:
    return load_policy(name)


def policy_named(name: str, *, school_id: int | None = None) -> PolicyPreset:
    """The preset or policy file `name`; PolicyUnreadable (naming the school) when it cannot
    be read: a school's plan is never silently another's."""
    try:
        return _load(name)
    except (OSError, ValueError, KeyError) as error:
        raise PolicyUnreadable(school_id, name, str(error) or type(error).__name__) from error


def policy_of(school: School | None) -> PolicyPreset:
    """The plan the school follows (for no school, a person outside the roster: the default
    preset); PolicyUnreadable when the school's cannot be read."""
    if school is None:
        return _load(DEFAULT_POLICY)
    return policy_named(school.policy, school_id=school.id)


def unreadable_policies(session: Session) -> list[PolicyUnreadable]:
    """Every school whose policy cannot be read, with why (the sweeps skip them)."""
    found = []
    for school in session.exec(select(School).order_by(col(School.id))).all():
        try:
            policy_of(school)
        except PolicyUnreadable as error:
            found.append(error)
    return found


def notice_rules(school: School) -> NoticeRules:
    """The school's same-day notice rules: its policy's, with its own settings applied."""
    base = policy_of(school).notices
    own = school.settings.get("notices") if isinstance(school.settings, dict) else None
    return rules_from(own, base) if isinstance(own, dict) else base


#: A school setting only the demo school has: where the demo's clock stands
#: (`{"start": ISO, "real": ISO}`: the demo's time `start` was the real time `real`).
DEMO_CLOCK = "demo_clock"


def demo_school(session: Session) -> School | None:
    """The demo school, while it is the only school (a school's own roster ends the demo)."""
    schools = session.exec(select(School).limit(2)).all()
    if len(schools) != 1 or DEMO_CLOCK not in schools[0].settings:
        return None
    return schools[0]


def demo_clock(session: Session) -> tuple[datetime, datetime] | None:
    """The demo clock's anchor: (the demo's instant, the real instant it was), if set."""
    school = demo_school(session)
    anchor = school.settings.get(DEMO_CLOCK) if school is not None else None
    if not anchor:
        return None
    return datetime.fromisoformat(anchor["start"]), datetime.fromisoformat(anchor["real"])


def set_demo_clock(session: Session, school: School, *, start: datetime, real: datetime) -> None:
    """Record that the demo's time `start` is the real time `real` (every process shares it)."""
    school.settings = {**school.settings,
                       DEMO_CLOCK: {"start": start.isoformat(), "real": real.isoformat()}}
    session.add(school)


def installation_zone(session: Session) -> ZoneInfo:
    """The installation's own time zone, for a person no school is known for: the zone its
    schools keep (the most common when they differ, the first school's on a tie), UTC when
    there are no schools."""
    # Schools are created in the settings' zone (NARVARO_TIMEZONE, by roster import and the
    # school system's sync), so theirs is the installation's zone as the handlers can see it.
    zones = Counter(session.exec(select(School.timezone).order_by(col(School.id))).all())
    if not zones:
        return ZoneInfo("UTC")
    return ZoneInfo(zones.most_common(1)[0][0])  # the first seen on a tie
