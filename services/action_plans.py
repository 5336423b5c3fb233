"""Action plans shared by the mentor's dialog, the evaluation sweep and the command line:
who can own a measure, the measures' level names, and the evaluation's answer keys."""

from __future__ import annotations

from sqlmodel import Session, col, select

from locales import N_
from policy.action_plans import level_of
from policy.choices import ActionPlanNotWorking, ActionPlanWorking
from storage.models import Person, StaffRole, Student
from storage.reports import recipients_by_student

#: The evaluation's answers' data stems, for the evaluation sweep's buttons (the typed keys
#: are policy.choices.ActionPlanWorking and ActionPlanNotWorking).
WORKING, NOT_WORKING = ActionPlanWorking.stem(), ActionPlanNotWorking.stem()
#: A measure's level, as the mentor and the case log name it.
LEVEL_LABELS = {"student": N_("student"), "home": N_("home"), "school": N_("school"),
                "health": N_("health")}


def owners_of(session: Session, student: Student) -> list[tuple[Person, str]]:
    """Who can own a measure, with its level: the student, the guardians, school staff."""
    found: list[tuple[Person, str]] = []
    pupil = session.get(Person, student.person_id)
    if pupil is not None:
        found.append((pupil, level_of(is_student=True, is_guardian=False, roles=frozenset())))
    for guardian in recipients_by_student(session, [student]).get(student.id or 0, []):
        if guardian.id != student.person_id:
            found.append((guardian, "home"))
    roles: dict[int, set[str]] = {}
    staff: dict[int, Person] = {}
    for member, role in session.execute(
        select(Person, StaffRole.role).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == student.school_id)
    ).all():
        staff[member.id or 0] = member
        roles.setdefault(member.id or 0, set()).add(role)
    for ident, member in staff.items():
        found.append((member, level_of(is_student=False, is_guardian=False,
                                       roles=frozenset(roles[ident]))))
    return found
