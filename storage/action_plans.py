"""Action plans and their measures: recorded after a meeting, reminded on their days,
evaluated after two weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from storage.models import ActionPlan, AuditLog, Measure, Person, StaffRole, Student
from storage.tasks import add_task


@dataclass(frozen=True)
class NewMeasure:
    """A measure to record: its level, what, its owner, by when."""

    level: str
    what: str
    owner: Person
    due_on: date


def record_plan(session: Session, student: Student, measures: list[NewMeasure], *,
                by: int | None, starts_on: date, evaluate_on: date,
                due_at: dict[date, datetime], now: datetime) -> ActionPlan:
    """Record the plan (audited by its measures' count, not their words); each measure a
    staff member owns becomes their task on its day (`due_at`: 08:00 of each day)."""
    plan = ActionPlan(student_id=student.id or 0, created_by=by, created_at=now,
                      starts_on=starts_on, evaluate_on=evaluate_on)
    session.add(plan)
    session.flush()
    staff = set(session.execute(select(StaffRole.person_id).where(
        StaffRole.school_id == student.school_id)).scalars())
    for new in measures:
        measure = Measure(plan_id=plan.id or 0, level=new.level, what=new.what,
                          owner_id=new.owner.id or 0, due_on=new.due_on)
        session.add(measure)
        session.flush()
        if new.owner.id in staff:
            add_task(session, dedupe_key=f"measure:{measure.id}", school_id=student.school_id,
                     student_id=student.id, assignee=new.owner, kind="measure", now=now,
                     due_at=due_at[new.due_on])
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli",
                         action="action_plan.record", entity="student",
                         entity_id=str(student.id), student_id=student.id,
                         detail={"plan": plan.id, "measures": len(measures)}))
    return plan


def measures_of(session: Session, plan_id: int) -> list[Measure]:
    """The plan's measures, in the order written."""
    return list(session.execute(select(Measure).where(Measure.plan_id == plan_id)
                                .order_by(col(Measure.id))).scalars())


def judge_plan(session: Session, plan: ActionPlan, working: bool, *, by: int | None,
               now: datetime) -> None:
    """The mentor's word at the evaluation: the plan works, or it does not (audited)."""
    plan.status = "working" if working else "not_working"
    session.add(plan)
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli",
                         action=f"action_plan.{plan.status}", entity="student",
                         entity_id=str(plan.student_id), student_id=plan.student_id,
                         detail={"plan": plan.id}))
