"""SS 12000 entities into Närvaro's terms: no I/O.

The school system's people are kept trimmed to what Närvaro needs (a name, phone numbers,
a protected-identity marking, enrolments, guardians); national identity numbers,
addresses and e-mail are never kept. The roster is then written as the rows of the
roster files, so the files' validation rules apply to it unchanged.

Enums are open sets (servers differ): an unknown value is ignored, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

#: `securityMarking` values that mean a protected identity.
PROTECTED = frozenset({"Sekretessmarkering", "Skyddad folkbokföring"})
#: Relations whose holder hears about the child and may report (a parent without custody,
#: "Förälder", or a contact person does not).
GUARDIAN_RELATIONS = frozenset({"Vårdnadshavare", "God man", "Annan ansvarig",
                                "Familjehemsförälder"})
#: Duty roles that are a Närvaro staff role at the unit (Skolverket's longer code list).
DUTY_ROLES = {"Rektor": "principal", "Skolsköterska": "nurse", "Kurator": "counsellor"}
MENTOR = "Mentor"
CLASS_GROUP_TYPES = ("Klass", "Mentor")
MAX_MINUTES_LATE = 600
Entity = dict[str, Any]


def _ref(value: Any) -> str:
    """The id of an ObjectReference (or of a bare id)."""
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


def _date(value: Any) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def _birth(person: Mapping[str, Any]) -> str | None:
    """The birth date, from `birthDate` or the date part of the civic number (which is
    read here and never kept)."""
    if found := _date(person.get("birthDate")):
        return found
    civic = person.get("civicNo") or {}
    digits = "".join(ch for ch in str(civic.get("value") or "") if ch.isdigit())
    if len(digits) >= 8:
        return _date(f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}")
    return None


def trim_person(person: Mapping[str, Any]) -> Entity:
    """What Närvaro keeps of a Person."""
    name = " ".join(part for part in (person.get("givenName"), person.get("familyName"))
                    if part)
    phones = [{"value": str(phone.get("value") or phone.get("number") or ""),
               "type": phone.get("type"), "mobile": phone.get("mobile", True) is not False}
              for phone in person.get("phoneNumbers") or [] if isinstance(phone, Mapping)]
    enrolments = [{"unit": _ref(e.get("enroledAt")), "start": _date(e.get("startDate")),
                   "end": _date(e.get("endDate")), "year": e.get("schoolYear"),
                   "type": e.get("schoolType"), "cancelled": bool(e.get("cancelled"))}
                  for e in person.get("enrolments") or [] if isinstance(e, Mapping)]
    responsibles = [{"id": _ref(r.get("person")), "relation": r.get("relationType"),
                     "marking": (r.get("person") or {}).get("securityMarking")
                     if isinstance(r.get("person"), Mapping) else None}
                    for r in person.get("responsibles") or [] if isinstance(r, Mapping)]
    return {"name": name, "marking": person.get("securityMarking"),
            "phones": [phone for phone in phones if phone["value"]], "birth": _birth(person),
            "enrolments": enrolments, "responsibles": responsibles}


def trim_group(group: Mapping[str, Any]) -> Entity:
    """What Närvaro keeps of a Group."""
    return {"name": str(group.get("displayName") or ""), "type": group.get("groupType"),
            "unit": _ref(group.get("organisation")), "start": _date(group.get("startDate")),
            "end": _date(group.get("endDate")),
            "members": [{"id": _ref(m.get("person")), "start": _date(m.get("startDate")),
                         "end": _date(m.get("endDate"))}
                        for m in group.get("groupMemberships") or [] if isinstance(m, Mapping)]}


def trim_duty(duty: Mapping[str, Any]) -> Entity:
    """What Närvaro keeps of a Duty."""
    return {"person": _ref(duty.get("person")), "unit": _ref(duty.get("dutyAt")),
            "role": duty.get("dutyRole"), "start": _date(duty.get("startDate")),
            "end": _date(duty.get("endDate")),
            "mentor_of": [{"group": _ref(a.get("group")), "start": _date(a.get("startDate")),
                           "end": _date(a.get("endDate"))}
                          for a in duty.get("assignmentRole") or []
                          if isinstance(a, Mapping) and a.get("assignmentRoleType") == MENTOR]}


def trim_unit(unit: Mapping[str, Any]) -> Entity:
    """What Närvaro keeps of an Organisation (a school unit)."""
    return {"name": str(unit.get("displayName") or ""), "code": unit.get("schoolUnitCode"),
            "type": unit.get("organisationType")}


def active(item: Mapping[str, Any], today: date) -> bool:
    """Whether a dated item (enrolment, membership, duty…) holds today."""
    start, end = item.get("start"), item.get("end")
    return (not start or start <= today.isoformat()) and (not end or end >= today.isoformat())


def best_phone(person: Mapping[str, Any] | None, *, work: bool = False) -> str:
    """The number to text: a mobile first, then home (or, for staff, work) before others."""
    if not person:
        return ""
    phones = sorted(person.get("phones") or [], key=lambda phone: (
        not phone["mobile"], (phone["type"] != "Arbete") if work else (phone["type"] == "Arbete")))
    return str(phones[0]["value"]) if phones else ""


def is_adult(person: Mapping[str, Any], today: date) -> bool:
    """18 or older today (unknown birth: a minor, the careful answer)."""
    birth = person.get("birth")
    if not birth:
        return False
    born = date.fromisoformat(birth)
    return (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= 18


def student_unit(person: Mapping[str, Any], units: Iterable[str], today: date) -> str | None:
    """The followed unit the person is enrolled at today (the first, if several)."""
    wanted = list(units)
    enrolled = {e["unit"] for e in person.get("enrolments") or []
                if not e.get("cancelled") and active(e, today)}
    return next((unit for unit in wanted if unit in enrolled), None)


@dataclass
class RosterRows:
    """The roster as the files' rows, and whose each row is (for problems, by id)."""

    students: list[tuple[int, dict[str, str]]]
    staff: list[tuple[int, dict[str, str]]]
    #: Row number → the SS 12000 id of the person it is about.
    student_of: dict[int, str]
    staff_of: dict[int, str]


def roster_rows(units: Mapping[str, Entity], persons: Mapping[str, Entity],
                groups: Mapping[str, Entity], duties: Mapping[str, Entity],
                today: date) -> RosterRows:
    """The students enrolled at the followed units today, with their guardians, class and
    mentors, and the units' staff, as rows of the roster files."""
    rows = RosterRows([], [], {}, {})
    unit_name = {unit_id: unit["name"] for unit_id, unit in units.items()}
    mentors_of_group = _staff_rows(rows, unit_name, persons, duties, today)
    klass, student_groups = _groups_of_students(units, groups, today)
    for student_id, person in persons.items():
        unit = student_unit(person, units, today)
        if unit is None:
            continue
        class_name = klass[student_id][1] if klass.get(student_id, ("",))[0] == unit else ""
        if not class_name:
            year = next((e.get("year") for e in person["enrolments"] if e["unit"] == unit), None)
            class_name = f"Åk {year}" if year is not None else "Ingen klass"
        guardians, protected = _guardians(person, persons)
        mentors = sorted({phone for group_id in student_groups.get(student_id, [])
                          for phone in mentors_of_group.get(group_id, [])})
        own = best_phone(person)
        if own in dict(guardians) or own in mentors:
            own = ""  # a family's shared phone is the guardian's
        adult = is_adult(person, today)
        for index in range(max(len(guardians), len(mentors), 1)):
            guardian_phone, guardian_name = (
                guardians[min(index, len(guardians) - 1)] if guardians else ("", ""))
            line = len(rows.students) + 1
            rows.students.append((line, {
                "school": unit_name[unit], "class": class_name, "student_id": student_id,
                "student_name": person["name"], "student_language": "", "student_phone": own,
                "student_adult": "yes" if adult else "no", "guardian_name": guardian_name,
                "guardian_phone": guardian_phone, "guardian_language": "",
                "mentor_phone": mentors[index] if index < len(mentors) else "",
                "student_protected": "yes" if protected else "no",
                "guardian_custody": "yes", "guardian_no_contact": "no"}))
            rows.student_of[line] = student_id
    return rows


def _staff_rows(rows: RosterRows, unit_name: Mapping[str, str], persons: Mapping[str, Entity],
                duties: Mapping[str, Entity], today: date) -> dict[str, list[str]]:
    """Add a staff row per active duty's role at a followed unit; returns the mentors'
    phones by the group they mentor."""
    mentors_of_group: dict[str, list[str]] = {}
    for duty in duties.values():
        if duty["unit"] not in unit_name or not active(duty, today):
            continue
        phone = best_phone(persons.get(duty["person"]), work=True)
        person = persons.get(duty["person"]) or {}
        if not phone or not person.get("name"):
            continue
        roles = [DUTY_ROLES[duty["role"]]] if duty.get("role") in DUTY_ROLES else []
        mentored = [a["group"] for a in duty["mentor_of"] if active(a, today)]
        if mentored:
            roles.append("mentor")
        for group_id in mentored:
            mentors_of_group.setdefault(group_id, []).append(phone)
        for role in roles:
            line = len(rows.staff) + 1
            rows.staff.append((line, {"school": unit_name[duty["unit"]], "name": person["name"],
                                      "phone": phone, "role": role, "language": ""}))
            rows.staff_of[line] = duty["person"]
    return mentors_of_group


def _groups_of_students(
    units: Mapping[str, Entity], groups: Mapping[str, Entity], today: date,
) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """Per student today: their class (unit, class name; the first by name), and every
    group they are in, at the followed units."""
    klass: dict[str, tuple[str, str]] = {}
    student_groups: dict[str, list[str]] = {}
    for group_id, group in sorted(groups.items(), key=lambda item: item[1]["name"]):
        if group["unit"] not in units or not active(group, today):
            continue
        for member in group["members"]:
            if not active(member, today):
                continue
            student_groups.setdefault(member["id"], []).append(group_id)
            if group["type"] == "Klass":
                klass.setdefault(member["id"], (group["unit"], group["name"]))
    return klass, student_groups


def _guardians(person: Entity,
               persons: Mapping[str, Entity]) -> tuple[list[tuple[str, str]], bool]:
    """The student's guardians who can be reached (phone, name), and whether the student's
    identity is protected (their own marking, or a guardian's)."""
    guardians: list[tuple[str, str]] = []
    protected = person.get("marking") in PROTECTED
    for responsible in person["responsibles"]:
        if responsible.get("relation") not in GUARDIAN_RELATIONS:
            continue
        guardian = persons.get(responsible["id"]) or {}
        if (responsible.get("marking") in PROTECTED
                or guardian.get("marking") in PROTECTED):
            protected = True  # the child's school would lead to the guardian's home
        phone = best_phone(guardian)
        if phone and guardian.get("name") and phone not in dict(guardians):
            guardians.append((phone, guardian["name"]))
    return guardians, protected


# -- roll call ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One lesson's roll call for one student, in the school's local time."""

    student: str
    day: date
    start: time
    end: time
    #: absent, late or present.
    status: str
    minutes_late: int | None
    #: All of the absence is valid (the school has excused it: reported, leave granted).
    excused: bool


def trim_event(event: Mapping[str, Any]) -> Entity:
    """What Närvaro keeps of a CalendarEvent (a lesson)."""
    return {"start": event.get("startTime"), "end": event.get("endTime"),
            "cancelled": bool(event.get("cancelled"))}


def _minutes(attendance: Mapping[str, Any], name: str) -> int:
    try:
        return max(int(attendance.get(name) or 0), 0)
    except (TypeError, ValueError):
        return 0


def mark(attendance: Mapping[str, Any], event: Mapping[str, Any] | None,
         zone: ZoneInfo) -> Mark | None:
    """The lesson's roll call an Attendance says, or None (not reported yet, a cancelled
    lesson, a lesson we do not know). Present part of the lesson and absent the rest is a
    late arrival by the minutes missed (SS 12000 does not say late from leaving early)."""
    if not attendance.get("isReported") or not event or event.get("cancelled"):
        return None
    try:
        start = datetime.fromisoformat(str(event["start"])).astimezone(zone)
        end = datetime.fromisoformat(str(event["end"])).astimezone(zone)
    except (KeyError, TypeError, ValueError):
        return None
    valid, invalid = (_minutes(attendance, "validAbsenceMinutes"),
                      _minutes(attendance, "invalidAbsenceMinutes"))
    present = (_minutes(attendance, "attendanceMinutes")
               + _minutes(attendance, "otherAttendanceMinutes"))
    lesson_end = end.time().replace(second=0, microsecond=0, tzinfo=None)
    lesson_start = start.time().replace(second=0, microsecond=0, tzinfo=None)
    if lesson_end <= lesson_start:
        return None
    student = _ref(attendance.get("student"))
    if valid + invalid == 0:
        status, late = "present", None
    elif present > 0:
        status, late = "late", min(valid + invalid, MAX_MINUTES_LATE)
    else:
        status, late = "absent", None
    return Mark(student, start.date(), lesson_start, lesson_end, status, late,
                excused=valid > 0 and invalid == 0)
