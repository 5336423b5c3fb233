"""The demo school loaded into an empty database, so Närvaro can be tried with no accounts.

Phone numbers are from the Swedish range reserved for fiction (070-1740605 to
070-1740699): they reach no one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from policy.clock import Clock
from policy.demo_clock import in_school_hours, next_school_morning
from policy.presets import PolicyPreset
from policy.roster import STUDENT_COLUMNS, parse_roster
from storage.models import Person
from storage.roster import apply_roster
from storage.schools import (
    DEMO_CLOCK,
    demo_school,
    ensure_school,
    school_calendar,
    set_demo_clock,
    set_period,
)

SCHOOL = "Demoskolan"
SCHOOL_PHONE = "+46701740605"
FIRST_NAMES = (
    "Ali", "Sara", "Emil", "Noor", "Elsa", "Omar", "Maja", "Liam", "Alva", "Hugo",
    "Wilma", "Adam", "Ebba", "Nils", "Leila", "Oscar", "Saga", "Yusuf", "Ines", "Theo",
)
FAMILY_NAMES = (
    "Andersson", "Hassan", "Nilsen", "Jensen", "Karlsson", "Haddad", "Berg", "Larsen",
    "Lind", "Smith", "Ek", "Abdi", "Holm", "Olsen", "Moberg", "Yilmaz", "Dahl", "Said",
    "Sandberg", "Novak",
)
#: Guardians' languages: the three Scandinavian ones, English, Arabic, and two
#: without a catalog yet (they get English until one is added).
GUARDIAN_LANGUAGES = ("sv", "sv", "nb", "da", "en", "ar", "so", "fi")
STAFF = (
    ("Anna Mentorsson", 6, "mentor", "sv"),
    ("Bjørn Kontaktlærer", 7, "mentor", "nb"),
    ("Cecilia Rektor", 8, "principal", "sv"),
    ("Dina Skolsköterska", 9, "nurse", "sv"),
)


def periods(today: date) -> tuple[tuple[str, str, date, date], ...]:
    """Terms and breaks of the school year of `today` (a new one from July), on the Swedish
    pattern: autumn term from 18 August, spring term to 11 June, breaks in weeks 44 and 9."""
    year = today.year if today.month >= 7 else today.year - 1
    autumn_break = date.fromisocalendar(year, 44, 1)
    sports_break = date.fromisocalendar(year + 1, 9, 1)
    return (
        ("term", f"Hösttermin {year}", date(year, 8, 18), date(year, 12, 18)),
        ("term", f"Vårtermin {year + 1}", date(year + 1, 1, 11), date(year + 1, 6, 11)),
        ("break", "Höstlov", autumn_break, autumn_break + timedelta(days=4)),
        ("break", "Sportlov", sports_break, sports_break + timedelta(days=4)),
    )


def _phone(number: int) -> str:
    # International form, so the demo loads whatever country the policy sets.
    return f"+46 70 174 06 {number:02d}"


def demo_files() -> tuple[bytes, bytes]:
    """The demo roster as the contract's students.csv and staff.csv."""
    staff = ["school,name,phone,role,language"]
    staff += [f"{SCHOOL},{name},{_phone(n)},{role},{lang}" for name, n, role, lang in STAFF]
    rows = [",".join(STUDENT_COLUMNS)]
    phone = 10
    for index in range(40):
        class_name, mentor = ("7A", _phone(6)) if index < 20 else ("8B", _phone(7))
        first = FIRST_NAMES[index % 20]
        family = FAMILY_NAMES[(index * 7) % 20]
        language = GUARDIAN_LANGUAGES[index % len(GUARDIAN_LANGUAGES)]
        student_language = "sv" if language in {"so", "fi", "ar"} else language
        guardians = 2 if index % 3 == 0 else 1
        # One student has a phone of her own, so a return plan (`/plan Sara`) can be tried.
        own_phone = _phone(90) if index == 1 else ""
        for g in range(guardians):
            guardian_first = ("Mona", "Karim", "Lena", "Per", "Amal", "Jonas")[(index + g) % 6]
            rows.append(
                f"{SCHOOL},{class_name},D{index + 1:03d},{first} {family},{student_language},"
                f"{own_phone},"
                f"no,{guardian_first} {family},{_phone(phone + g)},{language},{mentor}"
            )
        phone += guardians
    return ("\n".join(rows) + "\n").encode(), ("\n".join(staff) + "\n").encode()


def load_demo_if_empty(
    session: Session, *, policy: PolicyPreset, timezone: str, now: datetime
) -> bool:
    """Load the demo school when the database has nobody in it; True if it did."""
    if session.execute(select(func.count()).select_from(Person)).scalar_one():
        return False
    school = ensure_school(session, SCHOOL, policy=policy, timezone=timezone, now=now)
    school.phone = SCHOOL_PHONE
    for kind, name, start, end in periods(now.astimezone(ZoneInfo(timezone)).date()):
        set_period(session, school, kind=kind, name=name, start=start, end=end)
    students, staff = demo_files()
    roster, problems = parse_roster(students, staff, lambda _school: school.country)
    if problems:
        raise RuntimeError("demo roster invalid: " + "; ".join(problems.items))
    apply_roster(session, roster, now=now, default_policy=policy, timezone=timezone,
                 actor="demo")
    # The demo's first lesson at 08:00 and notices 5 minutes after: from the demo clock's
    # 07:50, a newcomer who takes roll call sees the notices a quarter of an hour later.
    school.settings = {**school.settings, DEMO_CLOCK: {},  # the demo's clock, set by `run`
                       "notices": {"first_lesson": "08:00", "day_cutoff_minutes": "5"}}
    return True


def start_demo_clock(session: Session, clock: Clock) -> datetime | None:
    """While the demo school is the only school, move `clock` to a school morning when it
    stands outside a school day's hours (never backwards), and record where it stands for
    every other process (`narvaro tick`, the lists). Returns the demo's time, if any."""
    school = demo_school(session)
    if school is None:
        return None
    local = clock.now().astimezone(ZoneInfo(school.timezone))
    if not in_school_hours(local, calendar := school_calendar(session, school)):
        morning = next_school_morning(local, calendar)
        if morning is not None:
            clock.set(morning)
    set_demo_clock(session, school, start=clock.now(), real=datetime.now(UTC))
    return clock.now()
