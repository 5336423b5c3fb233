"""The demo school loaded into an empty database, so Närvaro can be tried with no accounts.

Phone numbers are from the Swedish range reserved for fiction (070-1740605 to
070-1740699): they reach no one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from policy.presets import PolicyPreset
from policy.roster import STUDENT_COLUMNS, parse_roster
from storage.models import Person
from storage.roster import apply_roster
from storage.schools import ensure_school, set_period

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
#: Terms and breaks of the school year 2026/27 (Swedish pattern, weeks 44, 52–1, 9, 13).
PERIODS = (
    ("term", "Hösttermin 2026", date(2026, 8, 18), date(2026, 12, 18)),
    ("term", "Vårtermin 2027", date(2027, 1, 11), date(2027, 6, 11)),
    ("break", "Höstlov", date(2026, 10, 26), date(2026, 10, 30)),
    ("break", "Sportlov", date(2027, 3, 1), date(2027, 3, 5)),
    ("break", "Påsklov", date(2027, 3, 29), date(2027, 4, 2)),
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
    for kind, name, start, end in PERIODS:
        set_period(session, school, kind=kind, name=name, start=start, end=end)
    students, staff = demo_files()
    roster, problems = parse_roster(students, staff, lambda _school: school.country)
    if problems:
        raise RuntimeError("demo roster invalid: " + "; ".join(problems.items))
    apply_roster(session, roster, now=now, default_policy=policy, timezone=timezone,
                 actor="demo")
    return True
