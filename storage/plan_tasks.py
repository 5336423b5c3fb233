"""The tasks a school plan's steps give staff: whom they go to, creating them once, and which
step and rule of the plan a task came from.

A plan task's dedupe key is `ladder:STUDENT:STEP:INDEX:OWNER:TAG`: INDEX is the rule's place
in the step, TAG says why it exists (`t` the step was entered, `rN` the N-th recurrence,
`bID` a meeting booked from task ID, `hID` a follow-up after meeting ID was held).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from policy.calendar import SchoolCalendar
from policy.ladder import Ladder, LadderError, Step, TaskRule, load_ladder
from storage.models import Person, School, StaffRole, StaffTask, Student
from storage.reports import mentors_of
from storage.tasks import add_tasks

LADDER_PREFIX = "ladder:"
#: Roles a plan names that stand for several roster roles.
_ROLES = {"health_team": ("nurse", "counsellor"),
          # The Danish resource team: "ledelse, ressourcepersoner og fraværskoordinator".
          "resource_team": ("principal", "counsellor", "coordinator")}
#: Plan tasks are due at the start of the school day, in the school's time zone.
DUE_AT = time(8, 0)


@dataclass(frozen=True)
class PlanTask:
    """Where a task came from in the school's plan."""

    ladder: Ladder
    step: Step
    index: int
    tag: str

    @property
    def rule(self) -> TaskRule:
        """The step's rule that made the task."""
        return self.step.tasks[self.index]


@lru_cache(maxsize=16)
def ladder_named(name: str) -> Ladder | None:
    """The ladder of a preset, or None when the school's policy has none."""
    try:
        return load_ladder(name)
    except LadderError:
        return None


@dataclass(frozen=True)
class LadderKey:
    """A plan task's dedupe key, read: whose, which step and rule, why (the TAG)."""

    student_id: str
    step_id: str
    index: int
    tag: str

    @property
    def recurring(self) -> bool:
        """An occurrence of a recurring task (`rN@…`)."""
        return self.tag.startswith("r")


def ladder_key(key: str) -> LadderKey | None:
    """`ladder:STUDENT:STEP:INDEX:OWNER:TAG` read; None for any other key."""
    parts = key.split(":")
    if key.startswith(LADDER_PREFIX) and len(parts) >= 6 and parts[3].isdecimal():
        return LadderKey(parts[1], parts[2], int(parts[3]), parts[5])
    return None


def plan_task(session: Session, task: StaffTask) -> PlanTask | None:
    """The step and rule of the plan that made `task`; None for tasks of other origin."""
    found = ladder_key(task.dedupe_key)
    school = session.get(School, task.school_id) if found else None
    ladder = ladder_named(school.policy) if school else None
    if found is None or ladder is None:
        return None
    step = next((s for s in ladder.steps if s.id == found.step_id), None)
    if step is None or found.index >= len(step.tasks):
        return None
    return PlanTask(ladder, step, found.index, found.tag)


def plan_words(session: Session, task: StaffTask) -> str | None:
    """For a task a ladder step created, the task in the plan's own words, as a title (no
    closing full stop: "Mentorsamtal varje vecka", then ": Emil" reads right)."""
    found = plan_task(session, task)
    if found is None:
        return None
    what = found.rule.what
    return what[:-1] if what.endswith(".") and not what.endswith("..") else what


def owners(session: Session, school: School, student: Student, who: str) -> list[Person]:
    """The people a plan's role means for this student (the mentors, the school's nurse…)."""
    return pick_owners(who, mentors_of(session, student.id or 0),
                       lambda roles: with_role(session, school.id or 0, roles))


def pick_owners(who: str, mentors: list[Person],
                staff_with: Callable[[tuple[str, ...]], list[Person]]) -> list[Person]:
    """The people for role `who`, given the student's mentors and a lookup of the school's
    staff by role. Nobody in the roster has that role: the principal, else the mentors."""
    found = mentors if who == "mentor" else staff_with(_ROLES.get(who, (who,)))
    return found or staff_with(("principal",)) or mentors


def with_role(session: Session, school_id: int, roles: tuple[str, ...]) -> list[Person]:
    """The school's staff with any of `roles`, in roster order."""
    return list(session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == school_id, col(StaffRole.role).in_(roles))
        .order_by(col(Person.id))).scalars().unique())


def task_rows(
    school: School, calendar: SchoolCalendar, student_id: int, step: Step,
    indexes: Iterable[int], *, counted_from: date, tag: str,
    owners_of: Callable[[str], list[Person]],
) -> list[dict[str, object]]:
    """The StaffTask rows for the step's tasks `indexes`, due as the plan says counted from
    `counted_from`, one per owner, keyed once per tag."""
    zone = ZoneInfo(school.timezone)
    rows: list[dict[str, object]] = []
    for index in indexes:
        rule = step.tasks[index]
        try:
            due_day = rule.due_on(counted_from, calendar)
        except ValueError:
            due_day = counted_from
        for person in owners_of(rule.who):
            rows.append({
                "dedupe_key": f"{LADDER_PREFIX}{student_id}:{step.id}:{index}:{person.id}:{tag}",
                "school_id": school.id, "student_id": student_id, "assignee_id": person.id,
                "kind": rule.kind, "due_at": due_at(due_day, zone),
            })
    return rows


def create_plan_tasks(
    session: Session, school: School, calendar: SchoolCalendar, student: Student, step: Step,
    indexes: Iterable[int], *, counted_from: date, tag: str, now: datetime,
) -> dict[str, int]:
    """Create the step's tasks `indexes` for their owners (see `task_rows`); returns the new
    ones' ids by dedupe key."""
    rows = task_rows(school, calendar, student.id or 0, step, indexes, counted_from=counted_from,
                     tag=tag, owners_of=lambda who: owners(session, school, student, who))
    return add_tasks(session, rows, now=now)


def due_at(day: date, zone: ZoneInfo) -> datetime:
    """The start of the school day `day` (08:00 local), in UTC."""
    return datetime.combine(day, DUE_AT, zone).astimezone(UTC)
