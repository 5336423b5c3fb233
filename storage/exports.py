"""The reads behind the exports: a school's (or a class's) absence over a period, and the
month's unapproved absence per student (Bengtsfors: "All frånvaro som inte är godkänd av
skolan rapporteras till CSN")."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from policy.review import AbsenceRow
from storage.models import Absence, Person, School, SchoolClass, Student


def absence_rows(session: Session, school: School, first: date, last: date, *,
                 class_name: str | None = None) -> list[tuple[object, ...]]:
    """(date, student id, name, class, slot, kind, state, minutes late) of the period,
    corrections left out; never a reason."""
    query = (select(col(Absence.day), col(Student.external_id), col(Person.name),
                    col(SchoolClass.name), col(Absence.slot), col(Absence.kind),
                    col(Absence.state), col(Absence.minutes_late))
             .join(Student, col(Student.id) == Absence.student_id)
             .join(Person, col(Person.id) == Student.person_id)
             .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
             .where(col(Student.school_id) == school.id, col(Absence.day) >= first,
                    col(Absence.day) <= last, col(Absence.state) != "withdrawn")
             .order_by(col(Absence.day), col(SchoolClass.name), col(Person.name),
                       col(Absence.slot)))
    if class_name:
        query = query.where(col(SchoolClass.name) == class_name)
    return [tuple(row) for row in session.execute(query).all()]


def unapproved_by_student(session: Session, school: School, first: date,
                          last: date) -> list[tuple[object, ...]]:
    """Per student with unapproved absence in the period: (student id, name, class,
    occasions, school days' worth, the dates), by class and name."""
    found: dict[tuple[str, str, str], list[AbsenceRow]] = defaultdict(list)
    for external, name, klass, day, start, end in session.execute(
        select(col(Student.external_id), col(Person.name), col(SchoolClass.name),
               col(Absence.day), col(Absence.lesson_start), col(Absence.lesson_end))
        .join(Student, col(Student.id) == Absence.student_id)
        .join(Person, col(Person.id) == Student.person_id)
        .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
        .where(col(Student.school_id) == school.id, col(Absence.kind) == "absent",
               col(Absence.state) == "unexcused", col(Absence.day) >= first,
               col(Absence.day) <= last)
    ).all():
        found[(klass, name, external)].append(AbsenceRow(klass, day, False, start, end))
    return [(external, name, klass, len(rows), round(sum(r.share for r in rows), 2),
             " ".join(sorted({r.day.isoformat() for r in rows})))
            for (klass, name, external), rows in sorted(found.items())]
