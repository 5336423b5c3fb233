"""Schools and their calendars."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlmodel import Session, select

from policy.calendar import DateRange, SchoolCalendar
from policy.notices import NoticeRules, rules_from
from policy.presets import PolicyPreset, load_policy
from storage.models import CalendarPeriod, School


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


def school_calendar(session: Session, school: School) -> SchoolCalendar:
    """The school's calendar: its country's holidays plus its own terms and breaks."""
    periods = session.exec(
        select(CalendarPeriod).where(CalendarPeriod.school_id == school.id)
    ).all()
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


@lru_cache(maxsize=64)
def policy_named(name: str) -> PolicyPreset:
    """The preset or policy file `name` (the default preset when it cannot be read)."""
    try:
        return load_policy(name)
    except (OSError, ValueError, KeyError):
        return load_policy("ljusnarsberg")


def policy_of(school: School | None) -> PolicyPreset:
    """The plan the school follows (the default preset when unknown)."""
    return policy_named(school.policy if school else "ljusnarsberg")


def notice_rules(school: School) -> NoticeRules:
    """The school's same-day notice rules: its policy's, with its own settings applied."""
    base = policy_named(school.policy).notices
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
