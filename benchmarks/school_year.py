"""A generated school through a whole school year of roll call, by the clock and the ladder
sweep: shared by the year simulation test (tests/test_school_year.py) and the benchmark
(benchmarks/year.py).

The school imports its terms (autumn 17 Aug – 18 Dec 2026, spring 11 Jan – 11 Jun 2027, with
an autumn and a winter break). Its students get realistic absence: short illnesses as
reported episodes of one to five days, some students with growing unexcused absence, a few
chronic absentees, single lessons missed and late arrivals, lesson-level records for every
third class, plus probes: one absent day on a term's second school day, and a six-day
illness recorded only after it ended. Each school day the roll call is written at 08:30 and
the ladder sweep runs at 09:00 (and once at 00:30 on Mondays, before any roll call: steps
must not drop overnight). What the sweep does is read back from the database.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from policy.calendar import DateRange, SchoolCalendar
from scheduler.ladder import advance_ladders
from storage.db import session_scope
from storage.models import (
    Absence,
    CalendarPeriod,
    Guardianship,
    LadderPosition,
    MentorLink,
    OutboxMessage,
    Person,
    School,
    SchoolClass,
    StaffRole,
    StaffTask,
    Student,
)
from storage.schools import school_calendar

ZONE = ZoneInfo("Europe/Stockholm")
AUTUMN = (date(2026, 8, 17), date(2026, 12, 18))
SPRING = (date(2027, 1, 11), date(2027, 6, 11))
BREAKS = ((date(2026, 10, 26), date(2026, 10, 30)), (date(2027, 2, 22), date(2027, 2, 26)))
COUNTRY = {"ljusnarsberg": "SE", "bengtsfors": "SE", "norway-example": "NO",
           "denmark": "DK", "lyngen": "NO"}
STAFF = ("mentor", "principal", "nurse", "counsellor", "coordinator")
#: Kinds of student; how many of each in every 20.
PROFILES = (("healthy", 11), ("growing", 4), ("chronic", 1), ("lessons", 2), ("early", 1),
            ("trip", 1))
#: A "trip" student's granted leave, and nothing else: two weeks in autumn, one in spring.
TRIPS = ((date(2026, 10, 5), 10), (date(2027, 3, 1), 5))


@dataclass
class Year:
    """What the sweeps did over the year, read back from the database."""

    school_days: int = 0
    sweep_seconds: list[float] = field(default_factory=list)
    #: (student id, profile) of every student.
    profiles: dict[int, str] = field(default_factory=dict)
    #: Per month "YYYY-MM": how many students were on each step at the month's end.
    on_step: dict[str, Counter[str]] = field(default_factory=dict)
    #: Per month: each student's level at the month's end (students on a step only).
    month_levels: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Per student and term ("HT26"/"VT27"): the highest level reached in the term's first
    #: four school weeks, and in the whole term.
    early_level: dict[tuple[int, str], int] = field(default_factory=dict)
    top_level: dict[tuple[int, str], int] = field(default_factory=dict)
    #: Per month: step entries and letters sent.
    entries: dict[str, int] = field(default_factory=dict)
    letters: dict[str, int] = field(default_factory=dict)
    #: The day-by-day absent whole days (for checking letters against episodes).
    absent_days: dict[int, set[date]] = field(default_factory=dict)
    late_illness: int | None = None


def terms() -> list[tuple[date, date]]:
    """The school's two terms."""
    return [AUTUMN, SPRING]


def calendar(country: str) -> SchoolCalendar:
    """The school's calendar, as the database gives it."""
    return SchoolCalendar(country, tuple(DateRange(a, b) for a, b in terms()),
                          tuple(DateRange(a, b) for a, b in BREAKS))


def term_name(day: date) -> str:
    """HT26 or VT27."""
    return "HT26" if day <= AUTUMN[1] else "VT27"


def setup(engine: Engine, preset: str, students: int, seed: int = 7) -> dict[int, str]:
    """The school, its staff, classes and students; returns each student's profile."""
    rng = random.Random(seed)
    now = datetime(2026, 8, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        school = School(name=f"Årsskolan {preset}", country=COUNTRY[preset],
                        timezone="Europe/Stockholm", language="sv", policy=preset,
                        created_at=now)
        session.add(school)
        session.flush()
        school_id = school.id or 0
        for start, end in terms():
            session.add(CalendarPeriod(school_id=school_id, kind="term", start=start, end=end))
        for start, end in BREAKS:
            session.add(CalendarPeriod(school_id=school_id, kind="break", start=start, end=end))
        staff: dict[str, list[int]] = {}
        for role in STAFF:
            count = max(1, students // 25) if role == "mentor" else 1
            ids = []
            for n in range(count):
                person = Person(name=f"{role.title()} {n}", language="sv",
                                phone=f"+4670{len(staff):02d}{n:05d}", created_at=now,
                                updated_at=now)
                session.add(person)
                session.flush()
                session.add(StaffRole(school_id=school_id, person_id=person.id or 0, role=role))
                ids.append(person.id or 0)
            staff[role] = ids
        classes = [SchoolClass(school_id=school_id, name=f"{7 + n // 3}{'ABC'[n % 3]}")
                   for n in range(max(1, students // 25))]
        session.add_all(classes)
        session.flush()
        session.execute(insert(Person), [
            {"name": f"Elev {n}", "language": "sv", "created_at": now, "updated_at": now}
            for n in range(students)])
        people = list(session.execute(select(Person.id).where(
            col(Person.name).startswith("Elev ")).order_by(col(Person.id))).scalars())
        session.execute(insert(Student), [
            {"school_id": school_id, "class_id": classes[n % len(classes)].id,
             "external_id": f"Y{n:05d}", "person_id": people[n]} for n in range(students)])
        ids = list(session.execute(select(Student.id).where(
            Student.school_id == school_id).order_by(col(Student.id))).scalars())
        session.execute(insert(Person), [
            {"name": f"Förälder {n}", "language": "sv", "phone": f"+4673{n:07d}",
             "created_at": now, "updated_at": now} for n in range(students)])
        parents = list(session.execute(select(Person.id).where(
            col(Person.name).startswith("Förälder ")).order_by(col(Person.id))).scalars())
        session.execute(insert(Guardianship), [
            {"student_id": ident, "guardian_id": parents[n]} for n, ident in enumerate(ids)])
        session.execute(insert(MentorLink), [
            {"student_id": ident, "mentor_id": staff["mentor"][n % len(staff["mentor"])]}
            for n, ident in enumerate(ids)])
        kinds = [kind for kind, many in PROFILES for _ in range(many)]
        rng.shuffle(ids)
        profiles = {ident: kinds[n % len(kinds)] for n, ident in enumerate(ids)}
    return profiles


def _absences(rng: random.Random, profile: str, days: list[date], lesson_level: bool
              ) -> dict[date, list[tuple[str, time | None, time | None, str]]]:
    """A year of roll call for one student: per day, (kind, lesson start, end, state)."""
    if profile == "trip":
        return _trips(days)
    found: dict[date, list[tuple[str, time | None, time | None, str]]] = defaultdict(list)
    index = 0
    illness = {"healthy": 0.012, "growing": 0.015, "chronic": 0.02, "lessons": 0.01,
               "early": 0.0}[profile]
    while index < len(days):
        day = days[index]
        share = index / len(days)
        truancy = {"growing": 0.01 + 0.12 * share, "chronic": 0.35}.get(profile, 0.002)
        if rng.random() < illness:
            for sick in days[index:index + rng.randint(1, 5)]:
                if lesson_level:  # recorded lesson by lesson
                    for hour in (8, 9, 10, 12, 13, 14):
                        found[sick].append(("absent", time(hour, 0), time(hour, 50),
                                            "reported"))
                else:
                    found[sick].append(("absent", None, None, "reported"))
            index += 5
            continue
        if rng.random() < truancy:
            found[day].append(("absent", None, None, "unexcused"))
        elif profile == "lessons" and rng.random() < 0.08:
            hour = rng.choice((8, 10, 13))
            found[day].append(("absent", time(hour, 0), time(hour, 50), "unexcused"))
        elif rng.random() < 0.02:
            found[day].append(("late", None, None, "unexcused"))
        index += 1
    if profile == "early":  # one absent day on each term's second school day, nothing else
        for start, _end in terms():
            second = [d for d in days if d >= start][1]
            found = {second: [("absent", None, None, "unexcused")], **{
                d: rows for d, rows in found.items() if d != second}}
    return found


def _trips(days: list[date]) -> dict[date, list[tuple[str, time | None, time | None, str]]]:
    """Granted leave only (state "leave"), whole days: the `TRIPS`."""
    return {day: [("absent", None, None, "leave")] for start, length in TRIPS
            for day in [d for d in days if d >= start][:length]}


def run(engine: Engine, preset: str, students: int, *, seed: int = 7,
        clock: Callable[[], float] | None = None) -> Year:
    """Set up the school and run the whole school year through the ladder sweep."""
    clock = clock or perf_counter
    profiles = setup(engine, preset, students, seed)
    rng = random.Random(seed + 1)
    with Session(engine) as session:
        school = session.exec(select(School)).one()
        school_id, cal = school.id or 0, school_calendar(session, school)
        classes = dict(session.execute(select(Student.id, Student.class_id)).all())
    days = cal.school_days(AUTUMN[0], SPRING[1])
    class_ids = sorted(set(classes.values()))
    lesson_classes = set(class_ids[::3])
    plan = {ident: _absences(rng, profile, days, classes[ident] in lesson_classes)
            for ident, profile in profiles.items()}
    # A six-day illness, recorded only after it ended (a jump over rungs).
    late_one = next(i for i, p in profiles.items() if p == "healthy")
    november = [d for d in days if d.month == 11][:6]
    for day in november:
        plan[late_one][day] = [("absent", None, None, "reported")]
    year = Year(profiles=profiles, late_illness=late_one)
    year.absent_days = {ident: {d for d, rows in rows_by_day.items()
                                if any(r[1] is None and r[0] == "absent" for r in rows)
                                or sum(1 for r in rows if r[0] == "absent") >= 5}
                        for ident, rows_by_day in plan.items()}
    for number, day in enumerate(days):
        _write_day(engine, plan, day, late_one, november)
        if day.weekday() == 0:  # before any roll call: nothing may drop overnight
            _sweep(engine, datetime.combine(day, time(0, 30), ZONE), clock, year)
            _sweep(engine, datetime.combine(day, time(9, 0), ZONE), clock, year)
        _observe(engine, school_id, day, number, days, year)
    year.school_days = len(days)
    return year


def _write_day(engine: Engine, plan: dict[int, dict[date, list[tuple[str, time | None,
                                                                   time | None, str]]]],
               day: date, late_one: int, late_days: list[date]) -> int:
    """The day's roll call at 08:30 (the late-recorded illness on its last day)."""
    now = datetime.combine(day, time(8, 30), ZONE).astimezone(UTC)
    rows = []
    for ident, by_day in plan.items():
        wanted = [day] if ident != late_one or day not in late_days else []
        if ident == late_one and day == late_days[-1]:
            wanted = late_days
        for when in wanted:
            for kind, start, end, state in by_day.get(when, []):
                rows.append({"student_id": ident, "day": when,
                             "slot": f"{start:%H:%M}" if start else "day", "kind": kind,
                             "lesson_start": start, "lesson_end": end, "source": "import",
                             "recorded_at": now, "updated_at": now, "state": state})
    if rows:
        with session_scope(engine) as session:
            session.execute(insert(Absence), rows)
    return len(rows)


def _sweep(engine: Engine, now: datetime, clock: Callable[[], float], year: Year) -> None:
    started = clock()
    with session_scope(engine) as session:
        advance_ladders(session, now.astimezone(UTC))
    year.sweep_seconds.append(clock() - started)


def _observe(engine: Engine, school_id: int, day: date, number: int, days: list[date],
             year: Year) -> None:
    """Positions after the day's sweep; at a month's end, the month's figures."""
    term = term_name(day)
    first = next(d for d in days if term_name(d) == term)
    early = len([d for d in days if first <= d <= day]) <= 20
    with Session(engine) as session:
        for ident, level, step in session.execute(
                select(LadderPosition.student_id, LadderPosition.level,
                       LadderPosition.step_id)).all():
            if step is None:
                continue
            key = (ident, term)
            year.top_level[key] = max(year.top_level.get(key, 0), level)
            if early:
                year.early_level[key] = max(year.early_level.get(key, 0), level)
        last = number + 1 == len(days) or days[number + 1].month != day.month
        if not last:
            return
        month = f"{day:%Y-%m}"
        on = session.execute(select(LadderPosition.student_id, LadderPosition.step_id,
                                    LadderPosition.level).where(
            col(LadderPosition.step_id).is_not(None))).all()
        year.on_step[month] = Counter(step for _ident, step, _level in on)
        year.month_levels[month] = {ident: level for ident, _step, level in on}
        start = datetime.combine(day.replace(day=1), time(0, 0), ZONE).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0, 0), ZONE).astimezone(UTC)
        year.letters[month] = len(session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.dedupe_key).startswith("letter:"),
            col(OutboxMessage.created_at) >= start,
            col(OutboxMessage.created_at) < end)).all())
        year.entries[month] = len({(t.student_id, t.dedupe_key.split(":")[2],
                                    t.dedupe_key.split(":")[5])
                                   for t in session.exec(select(StaffTask).where(
                                       col(StaffTask.dedupe_key).startswith("ladder:"),
                                       col(StaffTask.created_at) >= start,
                                       col(StaffTask.created_at) < end))
                                   if t.dedupe_key.split(":")[5].startswith("t@")})
