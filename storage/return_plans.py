"""Return plans and their daily check-ins: started, extended and ended by staff; read by
the morning sweep; answered by the student."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from storage.models import AuditLog, PlanCheckIn, ReturnPlan


def active_plan(session: Session, student_id: int) -> ReturnPlan | None:
    """The student's plan in force, if any."""
    return session.execute(select(ReturnPlan).where(
        ReturnPlan.student_id == student_id, ReturnPlan.status == "active")).scalars().first()


def start_plan(
    session: Session, student_id: int, *, by: int | None, starts_on: date, evaluate_on: date,
    morning_time: time, adult_id: int | None, goal: str | None, now: datetime,
    weekdays: str = "12345", guardian_note: bool = False,
) -> tuple[ReturnPlan, bool]:
    """Start a plan (audited); an active one is returned as it is. (plan, whether new)"""
    existing = active_plan(session, student_id)
    if existing is not None:
        return existing, False
    plan = ReturnPlan(student_id=student_id, mentor_id=by, starts_on=starts_on,
                      followup_on=evaluate_on, morning_time=morning_time,
                      trusted_adult_id=adult_id or by, goal=goal, created_at=now,
                      weekdays=weekdays, guardian_note=guardian_note)
    session.add(plan)
    session.flush()
    _audit(session, by, plan, "plan.start", now)
    return plan, True


def end_plan(session: Session, plan: ReturnPlan, *, by: int | None, now: datetime) -> None:
    """End the plan today: no more morning messages (audited)."""
    plan.status, plan.ends_on = "ended", now.date()
    session.add(plan)
    _audit(session, by, plan, "plan.end", now)


def extend_plan(session: Session, plan: ReturnPlan, evaluate_on: date, *, by: int | None,
                now: datetime) -> None:
    """Move the plan's evaluation to `evaluate_on` (audited)."""
    plan.followup_on = evaluate_on
    session.add(plan)
    _audit(session, by, plan, "plan.extend", now)


def record_answer(session: Session, check_in: PlanCheckIn, answer: str,
                  now: datetime) -> None:
    """The student's answer to the day's check-in (a later answer replaces it)."""
    check_in.answer, check_in.answered_at = answer, now
    session.add(check_in)


def _audit(session: Session, by: int | None, plan: ReturnPlan, action: str,
           now: datetime) -> None:
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action=action,
                         entity="return_plan", entity_id=str(plan.id),
                         detail={"student": plan.student_id}))


def open_check_ins(session: Session, wanted: list[tuple[int, date, int]],
                   now: datetime) -> dict[tuple[int, date], int]:
    """Create the day's check-in of each (plan, day, encouragement) once; returns the ids of
    the new ones by (plan, day) (one that exists already was sent: it is left out)."""
    if not wanted:
        return {}
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (builder(PlanCheckIn)
                 .on_conflict_do_nothing(index_elements=["plan_id", "day"])
                 .returning(PlanCheckIn.plan_id, PlanCheckIn.day, PlanCheckIn.id))
    rows = [{"plan_id": plan_id, "day": day, "message": message, "sent_at": now}
            for plan_id, day, message in wanted]
    return {(plan_id, day): int(ident)
            for plan_id, day, ident in session.execute(statement, rows).all()}
