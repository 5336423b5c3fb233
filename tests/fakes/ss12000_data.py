"""A realistic generated SS 12000 data set: a municipality's school units, classes,
students, guardians (two homes after a separation, new partners, siblings across
schools), staff duties, protected identities, and a day's lessons.

Deterministic for a seed; sized by `students` (a few hundred for tests, 20,000 for the
benchmark). Phone numbers are Swedish mobiles (+4670…, written as people write them:
"070-123 45 67" or "+46 70 123 45 67"), unique per person.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.ss12000_api import FakeSS12000

JSON = dict[str, Any]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
GIVEN = ("Elsa", "Ali", "Noor", "Liam", "Maja", "Omar", "Alma", "Hugo", "Wilma", "Adam",
         "Saga", "Elias", "Ebba", "Yusuf", "Ines", "Leo", "Selma", "Amir", "Ida", "Zainab",
         "Oskar", "Mira", "Hassan", "Tuva", "Nils", "Freja", "Karim", "Olivia", "Axel", "Lina")
ADULT_GIVEN = ("Anna", "Jonas", "Fatima", "Mikael", "Sara", "Ahmed", "Karin", "Erik", "Leyla",
               "Johan", "Maria", "Abdi", "Lena", "Peter", "Amina", "Olga", "Tomasz", "Hiwet")
FAMILY = ("Berg", "Hassan", "Lindqvist", "Ali", "Nilsson", "Johansson", "Mohamed", "Svensson",
          "Karlsson", "Omar", "Eriksson", "Larsson", "Kowalski", "Petrov", "Yilmaz", "Haile")
LESSONS = ((time(8, 15), time(9, 0)), (time(9, 15), time(10, 0)), (time(10, 15), time(11, 0)))


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Dataset:
    """The generated entities, and what a test needs to find its way in them."""

    day: date
    units: list[JSON] = field(default_factory=list)
    persons: dict[str, JSON] = field(default_factory=dict)
    groups: list[JSON] = field(default_factory=list)
    duties: list[JSON] = field(default_factory=list)
    events: list[JSON] = field(default_factory=list)
    #: Which unit each event belongs to.
    event_unit: dict[str, str] = field(default_factory=dict)
    students: list[str] = field(default_factory=list)
    #: Students whose guardians live apart (two homes), and protected students.
    two_homes: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    #: Guardians with a parent's relation but no custody ("Förälder"): never linked.
    no_custody: list[str] = field(default_factory=list)
    #: Each class group's events today, by the group's id.
    lessons: dict[str, list[str]] = field(default_factory=dict)
    class_of: dict[str, str] = field(default_factory=dict)
    #: Student id → the unit they are enrolled at.
    unit_of: dict[str, str] = field(default_factory=dict)

    def guardians(self, student: str) -> list[JSON]:
        """The student's linked guardians (custody)."""
        return [self.persons[r["person"]["id"]] for r in self.persons[student]["responsibles"]
                if r["relationType"] == "Vårdnadshavare"]

    def load_into(self, server: FakeSS12000, *, at: datetime | None = None) -> None:
        """Put the whole data set on the fake server (as last changed `at`)."""
        server.load("organisation", self.units, at=at)
        server.load("person", self.persons.values(), at=at)
        server.load("group", self.groups, at=at)
        server.load("duty", self.duties, at=at)
        server.load("event", self.events, unit_of=self.event_unit, at=at)


def e164(person: JSON) -> str:
    """A person's first phone number, as E.164."""
    digits = "".join(ch for ch in person["phoneNumbers"][0]["value"] if ch.isdigit())
    return "+46" + digits[1:] if digits.startswith("0") else "+" + digits


def generate(*, students: int = 300, schools: int = 2, seed: int = 12000,
             day: date = date(2026, 11, 23), class_size: int = 25,
             sibling_share: float = 0.3, single_share: float = 0.15) -> Dataset:
    """A municipality with `schools` units and about `students` students."""
    rng = random.Random(seed)
    data = Dataset(day=day)
    used_phones: set[str] = set()

    def phone(prefix: str = "70") -> str:
        while True:
            number = f"{rng.randrange(10**7):07d}"
            if number not in used_phones:
                used_phones.add(number)
                break
        if rng.random() < 0.5:
            return f"0{prefix}-{number[:3]} {number[3:5]} {number[5:]}"
        return f"+46 {prefix} {number[:3]} {number[3:5]} {number[5:]}"

    def adult(family: str, *, unit: str | None = None) -> JSON:
        born = date(rng.randrange(1970, 1992), rng.randrange(1, 13), rng.randrange(1, 28))
        person: JSON = {
            "id": _id(rng), "givenName": rng.choice(ADULT_GIVEN), "familyName": family,
            "civicNo": {"value": born.strftime("%Y%m%d") + f"{rng.randrange(10**4):04d}",
                        "nationality": "SE"},
            "securityMarking": "Ingen",
            "phoneNumbers": [{"value": phone("73" if unit else "70"),
                              "type": "Arbete" if unit else "Hem", "mobile": True}],
            "addresses": [{"type": "Folkbokföring",
                           "streetAddress": f"Storgatan {rng.randrange(1, 99)}",
                           "postalCode": f"{rng.randrange(10000, 99999)}", "locality": "Skolby"}],
            "emails": [{"value": f"{_id(rng)[:8]}@example.se", "type": "Privat"}]}
        if not unit and rng.random() < 0.15:  # a landline too, listed first
            person["phoneNumbers"].insert(0, {"value": f"08-{rng.randrange(10**6):06d}",
                                              "type": "Hem", "mobile": False})
        data.persons[person["id"]] = person
        return person

    municipality: JSON = {"id": _id(rng), "displayName": "Skolby kommun",
                    "organisationType": "Huvudman", "municipalityCode": "0180"}
    data.units.append(municipality)
    names = ("Norrskolan", "Södra gymnasiet", "Västerskolan", "Österskolan")
    unit_ids: list[str] = []
    for number in range(schools):
        gymnasium = number % 2 == 1
        unit: JSON = {"id": _id(rng), "displayName": names[number % len(names)] + (
            f" {number // len(names) + 1}" if number >= len(names) else ""),
            "organisationType": "Skolenhet", "schoolUnitCode": f"{10000001 + number}",
            "schoolTypes": ["GY" if gymnasium else "GR"],
            "parentOrganisation": {"id": municipality["id"]}}
        data.units.append(unit)
        unit_ids.append(unit["id"])
        for role in ("Rektor", "Skolsköterska", "Kurator"):
            staff = adult(rng.choice(FAMILY), unit=unit["id"])
            data.duties.append({"id": _id(rng), "person": {"id": staff["id"]},
                                "dutyAt": {"id": unit["id"]}, "dutyRole": role,
                                "startDate": "2020-08-01"})
    per_school = max(students // schools, 1)
    classes: list[tuple[str, JSON]] = []  # (unit, group)
    for number, unit_id in enumerate(unit_ids):
        gymnasium = number % 2 == 1
        years = (1, 2, 3) if gymnasium else (7, 8, 9)
        count = max(per_school // class_size, 1)
        for index in range(count):
            year = years[index % len(years)]
            name = (f"TE{year}{'ABCDEFGHJK'[index // 3 % 10]}" if gymnasium
                    else f"{year}{'ABCDEFGHJK'[index // 3 % 10]}") + (
                f"{index // 30 + 1}" if index >= 30 else "")
            group: JSON = {"id": _id(rng), "displayName": name, "groupType": "Klass",
                     "schoolType": "GY" if gymnasium else "GR", "startDate": "2026-08-17",
                     "endDate": "2027-06-11", "organisation": {"id": unit_id},
                     "groupMemberships": [], "_year": year}
            classes.append((unit_id, group))
            teacher = adult(rng.choice(FAMILY), unit=unit_id)
            data.duties.append({"id": _id(rng), "person": {"id": teacher["id"]},
                                "dutyAt": {"id": unit_id}, "dutyRole": "Lärare",
                                "signature": teacher["givenName"][:2].upper(),
                                "startDate": "2021-08-01",
                                "assignmentRole": [{"group": {"id": group["id"]},
                                                    "assignmentRoleType": "Mentor",
                                                    "startDate": "2026-08-17"}]})
            data.lessons[group["id"]] = []
            for start, end in LESSONS:
                event: JSON = {"id": _id(rng), "activity": {"id": _id(rng)},
                         "startTime": datetime.combine(day, start, STOCKHOLM).isoformat(),
                         "endTime": datetime.combine(day, end, STOCKHOLM).isoformat(),
                         "cancelled": False, "teachingLengthStudent": 45}
                data.events.append(event)
                data.event_unit[event["id"]] = unit_id
                data.lessons[group["id"]].append(event["id"])
    seats = [(unit_id, group) for unit_id, group in classes for _ in range(class_size)]
    rng.shuffle(seats)
    families: list[list[JSON]] = []
    for unit_id, group in seats[:students]:
        family_name = rng.choice(FAMILY)
        gymnasium = group["schoolType"] == "GY"
        age = (15 if gymnasium else 12) + group["_year"] - (0 if gymnasium else 6)
        born = date(day.year - age - 1, rng.randrange(1, 13), rng.randrange(1, 28))
        if gymnasium and rng.random() < 0.3:
            born = date(day.year - 19, rng.randrange(1, 11), rng.randrange(1, 28))  # 18+
        student: JSON = {
            "id": _id(rng), "givenName": rng.choice(GIVEN), "familyName": family_name,
            "birthDate": born.isoformat(),
            "civicNo": {"value": born.strftime("%Y%m%d") + f"{rng.randrange(10**4):04d}",
                        "nationality": "SE"},
            "securityMarking": "Ingen", "phoneNumbers": [],
            "enrolments": [{"enroledAt": {"id": unit_id}, "schoolType": group["schoolType"],
                            "schoolYear": group["_year"], "startDate": "2024-08-15"}],
            "responsibles": []}
        if rng.random() < 0.5:
            student["phoneNumbers"].append({"value": phone(), "type": "Hem", "mobile": True})
        data.persons[student["id"]] = student
        data.students.append(student["id"])
        data.class_of[student["id"]] = group["id"]
        data.unit_of[student["id"]] = unit_id
        group["groupMemberships"].append({"person": {"id": student["id"]},
                                          "startDate": "2026-08-17"})
        if families and rng.random() < sibling_share:  # a sibling: the same guardians
            guardians = rng.choice(families)
            family_name = guardians[0]["familyName"]
            student["familyName"] = family_name
        else:
            shape = rng.random()
            guardians = [adult(family_name)]
            two = 1 - single_share
            if shape < two:
                guardians.append(adult(family_name if shape < two * 0.65
                                       else rng.choice(FAMILY)))
            if two * 0.65 <= shape < two:
                data.two_homes.append(student["id"])
                second = guardians[1]
                second["addresses"][0]["streetAddress"] = f"Lillgatan {rng.randrange(1, 99)}"
                if rng.random() < 0.4 and families:  # a new partner's children too
                    families[-1].append(second)
            families.append(guardians)
        for guardian in guardians:
            student["responsibles"].append({"person": {"id": guardian["id"],
                                                       "securityMarking": "Ingen"},
                                            "relationType": "Vårdnadshavare"})
        if rng.random() < 0.03 * single_share / 0.15:  # a parent without custody: never linked
            other = adult(rng.choice(FAMILY))
            student["responsibles"].append({"person": {"id": other["id"]},
                                            "relationType": "Förälder"})
            data.no_custody.append(other["id"])
        if rng.random() < 0.02:
            student["securityMarking"] = "Skyddad folkbokföring"
            data.protected.append(student["id"])
    for _unit, group in classes:
        del group["_year"]
        data.groups.append(group)
    if data.students and not data.protected:
        data.persons[data.students[-1]]["securityMarking"] = "Skyddad folkbokföring"
        data.protected.append(data.students[-1])
    return data


def one_day_of_roll_call(data: Dataset, server: FakeSS12000, *, share: float = 0.06,
                         seed: int = 7) -> int:
    """Every lesson of the day reported: most present, `share` absent or late; returns how
    many attendances were reported."""
    rng = random.Random(seed)
    count = 0
    members: dict[str, list[str]] = {}
    for student, group in data.class_of.items():
        members.setdefault(group, []).append(student)
    for group, events in data.lessons.items():
        for event in events:
            for student in members.get(group, []):
                roll = rng.random()
                if roll < share * 0.7:
                    server.roll_call(event, student, absent=45)
                elif roll < share:
                    server.roll_call(event, student, absent=rng.randrange(5, 20))
                else:
                    server.roll_call(event, student)
                count += 1
    return count


def later(day: date, hours: int) -> datetime:
    """An instant on `day` in Stockholm, `hours` after midnight."""
    return datetime.combine(day, time(0), STOCKHOLM) + timedelta(hours=hours)
