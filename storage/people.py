"""Queries about people: who they are to the school, and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from storage.models import (
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    Student,
)


@dataclass
class Roles:
    """What a person is at the schools: guardian of some students, staff, a student."""

    children: list[tuple[Student, Person]] = field(default_factory=list)
    staff: list[tuple[School, str]] = field(default_factory=list)
    student: Student | None = None


def roles_of(session: Session, person: Person) -> Roles:
    """Every role `person` holds."""
    roles = Roles()
    roles.children = [
        (student, child)
        for student, child in session.execute(
            select(Student, Person)
            .join(Guardianship, Guardianship.student_id == Student.id)
            .join(Person, Person.id == Student.person_id)
            .where(Guardianship.guardian_id == person.id)
            .order_by(Person.name)
        )
    ]
    roles.staff = list(
        session.execute(
            select(School, StaffRole.role)
            .join(StaffRole, StaffRole.school_id == School.id)
            .where(StaffRole.person_id == person.id)
        )
    )
    roles.student = session.execute(
        select(Student).where(Student.person_id == person.id)
    ).scalar_one_or_none()
    return roles


def school_of(session: Session, person: Person) -> School | None:
    """The school a person mostly deals with (their own, their child's or their staff school)."""
    roles = roles_of(session, person)
    student = roles.student or (roles.children[0][0] if roles.children else None)
    if student is not None:
        return session.get(School, student.school_id)
    return roles.staff[0][0] if roles.staff else None


@dataclass
class Listing:
    """A person as shown in the web chat's roster picker."""

    person_id: int
    name: str
    language: str
    staff: list[tuple[str, str]]
    children: list[str]
    student_class: str | None


def search_people(session: Session, query: str = "", limit: int = 50) -> list[Listing]:
    """People whose name matches `query` (all when empty), each with what they are."""
    statement = select(Person).order_by(Person.name).limit(limit)
    if query:
        statement = statement.where(Person.name.ilike(f"%{query}%"))
    listings = []
    for person in session.execute(statement).scalars():
        roles = roles_of(session, person)
        student_class = None
        if roles.student is not None:
            school_class = session.get(SchoolClass, roles.student.class_id)
            student_class = school_class.name if school_class else ""
        assert person.id is not None
        listings.append(
            Listing(
                person.id, person.name, person.language,
                [(school.name, role) for school, role in roles.staff],
                [child.name for _student, child in roles.children], student_class,
            )
        )
    return listings
