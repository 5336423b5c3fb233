"""Roster validation: the students and staff CSV files into checked records.

Validation is whole-file: every problem is collected with its line, and a
roster with any problem is applied nowhere. No I/O here; the caller reads
files and looks up each school's country.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from policy.csvrows import CsvSource, Problems, check_rows, read_rows
from policy.phones import to_e164

STUDENT_COLUMNS = (
    "school", "class", "student_id", "student_name", "student_language", "student_phone",
    "student_adult", "guardian_name", "guardian_phone", "guardian_language", "mentor_phone",
    # optional: protected identity; a guardian without custody or barred from contact
    "student_protected", "guardian_custody", "guardian_no_contact",
)
STUDENT_REQUIRED = ("school", "class", "student_id", "student_name", "guardian_phone")
STAFF_COLUMNS = ("school", "name", "phone", "role", "language")
STAFF_REQUIRED = ("school", "name", "phone", "role")
ROLES = ("mentor", "principal", "nurse", "counsellor", "coordinator")

_LANGUAGE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
# Swedish personnummer, Danish CPR and Norwegian fødselsnummer: never accepted as ids.
_NATIONAL_ID = re.compile(r"^(\d{6}[-+]?\d{4}|\d{8}-?\d{4}|\d{11})$")
_YES = {"1", "yes", "y", "true", "ja", "j", "x"}
_NO = {"", "0", "no", "n", "false", "nej", "nei"}


@dataclass
class StaffRecord:
    """A staff member's role at a school."""

    school: str
    name: str
    phone: str
    role: str
    language: str | None


@dataclass
class StudentRecord:
    """A student with their guardians and mentors, merged from one or more rows."""

    school: str
    class_name: str
    student_id: str
    name: str
    language: str | None
    phone: str | None
    adult: bool
    line: int
    guardians: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    mentors: set[str] = field(default_factory=set)
    #: Protected identity (skyddad identitet): no school name in messages, staff see the id.
    protected: bool = False


@dataclass
class Roster:
    """A validated roster: students keyed by (school, student id), and staff."""

    students: dict[tuple[str, str], StudentRecord] = field(default_factory=dict)
    staff: list[StaffRecord] = field(default_factory=list)

    @property
    def schools(self) -> set[str]:
        """Every school named in the roster."""
        return {key[0] for key in self.students} | {member.school for member in self.staff}


def _formula(value: str) -> bool:
    """Whether a spreadsheet would run `value` as a formula (CSV injection: "=cmd|…"); no
    name starts so, and none must come back out of Närvaro that way."""
    return value[:1] in {"=", "+", "-", "@"}


def _language(value: str, column: str, add: Callable[[str], None]) -> str | None:
    if not value:
        return None
    if not _LANGUAGE.match(value):
        add(f"{column} '{value}' is not a language code such as sv, nb, da or en")
        return None
    return value.replace("_", "-").split("-")[0].lower()


def _phone(
    value: str, column: str, country: str, add: Callable[[str], None], *, required: bool
) -> str | None:
    if not value:
        if required:
            add(f"{column} is empty")
        return None
    phone = to_e164(value, country)
    if phone is None:
        # The value itself is not repeated: problem lists end up in terminals and tickets.
        add(f"{column} is not a valid phone number (for {country})")
    return phone


class _PersonIndex:
    """Checks that one phone number means one person across both files."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.seen: dict[str, tuple[str, str, int, str, str | None]] = {}

    def check(
        self, phone: str, kind: str, name: str, language: str | None, source: str, line: int
    ) -> None:
        first = self.seen.setdefault(phone, (kind, source, line, name, language))
        first_kind, first_source, first_line, first_name, first_language = first
        where = f"{first_source}:{first_line}"
        if (first_kind == "student") != (kind == "student"):
            self.problems.add(
                source, line,
                f"{kind} phone is the phone of a {first_kind} on {where}; "
                "a phone number belongs to one person",
            )
        elif first_name.casefold() != name.casefold() and name and first_name:
            self.problems.add(source, line, f"{kind} phone has another name on {where}")
        elif language and first_language and language != first_language:
            self.problems.add(source, line, f"{kind} phone has another language on {where}")


def parse_roster(
    students_csv: CsvSource | None,
    staff_csv: CsvSource | None,
    country_of: Callable[[str], str],
    *,
    known_staff: Callable[[str, str], bool] = lambda school, phone: False,
    students_name: str = "students.csv",
    staff_name: str = "staff.csv",
) -> tuple[Roster, Problems]:
    """Validate both roster files; the roster is only usable if no problems were found.

    `country_of(school)` gives a school's country for phone numbers;
    `known_staff(school, phone)` tells whether a mentor is already on file.
    """
    problems = Problems()
    staff_rows = students_rows = None
    if staff_csv is not None:
        staff_rows = read_rows(staff_csv, staff_name, STAFF_COLUMNS, STAFF_REQUIRED, problems)
    if students_csv is not None:
        students_rows = read_rows(students_csv, students_name, STUDENT_COLUMNS,
                                  STUDENT_REQUIRED, problems)
    return _parse(students_rows, staff_rows, country_of, problems, known_staff=known_staff,
                  students_name=students_name, staff_name=staff_name)


def parse_roster_rows(
    students: Iterable[tuple[int, dict[str, str]]],
    staff: Iterable[tuple[int, dict[str, str]]],
    country_of: Callable[[str], str],
    *,
    known_staff: Callable[[str, str], bool] = lambda school, phone: False,
    guardian_required: bool = True,
    students_name: str = "students",
    staff_name: str = "staff",
) -> tuple[Roster, Problems]:
    """Validate roster rows that come from elsewhere than a file (a school system's API), by
    the same rules as the files; each row is (a number the caller knows it by, the columns).

    With `guardian_required=False` a minor without a guardian's number is kept (a school
    system's record is the truth even when it lacks a number; the files must give one).
    Every problem is kept (a school system's data is not a file a person reads through).
    """
    problems = Problems(limit=1 << 30)
    return _parse(
        check_rows(students, students_name, STUDENT_COLUMNS, problems),
        check_rows(staff, staff_name, STAFF_COLUMNS, problems),
        country_of, problems, known_staff=known_staff, guardian_required=guardian_required,
        students_name=students_name, staff_name=staff_name)


def _parse(
    students: Iterable[tuple[int, dict[str, str]]] | None,
    staff: Iterable[tuple[int, dict[str, str]]] | None,
    country_of: Callable[[str], str], problems: Problems, *,
    known_staff: Callable[[str, str], bool], students_name: str, staff_name: str,
    guardian_required: bool = True,
) -> tuple[Roster, Problems]:
    roster = Roster()
    people = _PersonIndex(problems)
    mentors_at: set[tuple[str, str]] = set()
    if staff is not None:
        _parse_staff(staff, staff_name, country_of, roster, people, problems, mentors_at)
    if students is not None:
        _parse_students(
            students, students_name, country_of, roster, people, problems,
            lambda school, phone: (school, phone) in mentors_at or known_staff(school, phone),
            guardian_required=guardian_required,
        )
    return roster, problems


def _parse_staff(
    rows: Iterable[tuple[int, dict[str, str]]], source: str, country_of: Callable[[str], str],
    roster: Roster, people: _PersonIndex, problems: Problems, mentors_at: set[tuple[str, str]],
) -> None:
    seen: set[tuple[str, str, str]] = set()
    for line, row in rows:
        before = problems.count

        def add(message: str, line: int = line) -> None:
            problems.add(source, line, message)

        for column in ("school", "name"):
            if not row[column]:
                add(f"{column} is empty")
            elif _formula(row[column]):
                add(f"{column} starts with {row[column][0]} (a spreadsheet formula, not a name)")
        role = row["role"].lower()
        if role not in ROLES:
            add(f"role '{row['role']}' is not one of {', '.join(ROLES)}")
        language = _language(row["language"], "language", add)
        phone = _phone(row["phone"], "phone", country_of(row["school"]), add, required=True)
        if problems.count > before or phone is None:
            continue
        key = (row["school"], phone, role)
        if key in seen:
            add("the same person and role appear on an earlier line")
            continue
        seen.add(key)
        people.check(phone, "staff", row["name"], language, source, line)
        roster.staff.append(StaffRecord(row["school"], row["name"], phone, role, language))
        mentors_at.add((row["school"], phone))


def _parse_students(
    rows: Iterable[tuple[int, dict[str, str]]], source: str, country_of: Callable[[str], str],
    roster: Roster, people: _PersonIndex, problems: Problems,
    is_staff: Callable[[str, str], bool], *, guardian_required: bool = True,
) -> None:
    for line, row in rows:
        before = problems.count

        def add(message: str, line: int = line) -> None:
            problems.add(source, line, message)

        _check_student_names(row, add)
        flags = _yes_no_flags(row, add)
        adult = flags["student_adult"]
        country = country_of(row["school"])
        student_language = _language(row["student_language"], "student_language", add)
        guardian_language = _language(row["guardian_language"], "guardian_language", add)
        student_phone = _phone(row["student_phone"], "student_phone", country, add, required=False)
        guardian_phone = _phone(
            row["guardian_phone"], "guardian_phone", country, add,
            required=not adult and guardian_required,
        )
        if guardian_phone and not row["guardian_name"]:
            add("guardian_name is empty")
        mentor_phone = _phone(row["mentor_phone"], "mentor_phone", country, add, required=False)
        if mentor_phone and not is_staff(row["school"], mentor_phone):
            add("mentor_phone is not a staff member of this school; add them to staff.csv")
        if problems.count > before:
            continue
        record = _student_record(roster, row, line, adult, student_language, student_phone, add)
        if record is None:
            continue
        record.protected = record.protected or flags["student_protected"]
        if student_phone:
            people.check(student_phone, "student", row["student_name"], student_language,
                         source, record.line)
        if guardian_phone:
            people.check(guardian_phone, "guardian", row["guardian_name"], guardian_language,
                         source, line)
            # A guardian without custody, or barred from contact, gets nothing: no link.
            if flags["guardian_custody"] and not flags["guardian_no_contact"]:
                record.guardians[guardian_phone] = (row["guardian_name"], guardian_language)
        if mentor_phone:
            record.mentors.add(mentor_phone)


def _check_student_names(row: dict[str, str], add: Callable[[str], None]) -> None:
    """The names a student's row needs, and its student id: present and plausible."""
    for column in ("school", "class", "student_name"):
        if not row[column]:
            add(f"{column} is empty")
    for column in ("school", "class", "student_name", "guardian_name"):
        if _formula(row[column]):
            add(f"{column} starts with {row[column][0]} (a spreadsheet formula, not a name)")
    student_id = row["student_id"]
    if not student_id:
        add("student_id is empty")
    elif _NATIONAL_ID.match(student_id.replace(" ", "")):
        add("student_id looks like a national identity number; use the school's own id")
    elif not _STUDENT_ID.match(student_id):
        add("student_id may only hold letters, digits and . _ / - (at most 64)")


def _yes_no_flags(row: dict[str, str], add: Callable[[str], None]) -> dict[str, bool]:
    """A student's row's yes/no columns (adult, protected, custody, no contact), each read
    with its default when empty (adult has none)."""
    flags: dict[str, bool] = {}
    adult_text = row["student_adult"].lower()
    if adult_text not in _YES | _NO:
        add(f"student_adult '{row['student_adult']}' is not yes or no")
    flags["student_adult"] = adult_text in _YES
    for column, default in (("student_protected", "no"), ("guardian_custody", "yes"),
                            ("guardian_no_contact", "no")):
        value = (row[column] or default).lower()
        if value not in _YES | _NO:
            add(f"{column} '{row[column]}' is not yes or no")
        flags[column] = value in _YES
    return flags


def _student_record(
    roster: Roster, row: dict[str, str], line: int, adult: bool, language: str | None,
    phone: str | None, add: Callable[[str], None],
) -> StudentRecord | None:
    """The roster's record of the row's student, made on its first line; None (a problem
    added) when an earlier line gave the same student other details."""
    student_id = row["student_id"]
    key = (row["school"], student_id)
    record = roster.students.get(key)
    if record is None:
        record = StudentRecord(
            row["school"], row["class"], student_id, row["student_name"], language,
            phone, adult, line,
        )
        roster.students[key] = record
    elif (record.class_name, record.name, record.adult, record.phone) != (
        row["class"], row["student_name"], adult, phone or record.phone
    ):
        add(f"student_id {student_id} has other class, name or details on line {record.line}")
        return None
    return record
