"""Return plans and their daily check-ins: started, extended and ended by staff; read by
the morning sweep; answered by the student."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Session, col, select

from policy.return_plan import PlanDays
from storage.db import chunks, insert_new
from storage.models import AuditLog, PlanCheckIn, PlanEncouragement, ReturnPlan, School, Student
from storage.schools import notice_rules

#: What a running plan can have changed (`change_plan`).
CHANGEABLE = frozenset({"morning_time", "answer_by", "goal", "trusted_adult_id", "weekdays",
                        "guardian_note", "followup_on"})


def plan_days(plan: ReturnPlan, school: School) -> PlanDays:
    """When the plan runs, at its school: days, morning time, first lesson, deadline."""
    return PlanDays(plan.starts_on, plan.ends_on, plan.morning_time,
                    notice_rules(school).first_lesson, plan.weekdays, plan.answer_by)


def list_plans(session: Session, *, student: str | None = None,
               ended: bool = False) -> list[tuple[ReturnPlan, Student, School]]:
    """Return plans (active ones unless `ended`), of one student (school id) if given."""
    query = (select(ReturnPlan, Student, School)
             .join(Student, col(Student.id) == ReturnPlan.student_id)
             .join(School, col(School.id) == Student.school_id)
             .order_by(col(ReturnPlan.id)))
    if student:
        query = query.where(Student.external_id == student)
    if not ended:
        query = query.where(ReturnPlan.status == "active")
    return [(plan, pupil, school) for plan, pupil, school in session.execute(query).all()]


def active_plan(session: Session, student_id: int) -> ReturnPlan | None:
    """The student's plan in force, if any."""
    return session.execute(select(ReturnPlan).where(
        ReturnPlan.student_id == student_id, ReturnPlan.status == "active")).scalars().first()


def check_in_of(session: Session, student_id: int, day: date
                ) -> tuple[PlanCheckIn, ReturnPlan] | None:
    """The check-in the student's plan in force sent them on `day`, with the plan, if any."""
    found = session.execute(
        select(PlanCheckIn, ReturnPlan).join(ReturnPlan, col(ReturnPlan.id) == PlanCheckIn.plan_id)
        .where(ReturnPlan.student_id == student_id, ReturnPlan.status == "active",
               PlanCheckIn.day == day)).first()
    return (found[0], found[1]) if found is not None else None


def start_plan(
    session: Session, student_id: int, *, by: int | None, starts_on: date, evaluate_on: date,
    morning_time: time, adult_id: int | None, goal: str | None, now: datetime,
    weekdays: str = "12345", guardian_note: bool = False, answer_by: time | None = None,
) -> tuple[ReturnPlan, bool]:
    """Start a plan (audited); an active one is returned as it is. (plan, whether new)"""
    existing = active_plan(session, student_id)
    if existing is not None:
        return existing, False
    plan = ReturnPlan(student_id=student_id, mentor_id=by, starts_on=starts_on,
                      followup_on=evaluate_on, morning_time=morning_time,
                      trusted_adult_id=adult_id or by, goal=goal, created_at=now,
                      weekdays=weekdays, guardian_note=guardian_note, answer_by=answer_by)
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


def change_plan(session: Session, plan: ReturnPlan, *, by: int | None, now: datetime,
                **changes: object) -> list[str]:
    """Change a running plan's settings (names in CHANGEABLE); audited with the names of
    what changed, never the texts. Returns those names."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not a plan setting: {sorted(unknown)}")
    changed = sorted(name for name, value in changes.items() if getattr(plan, name) != value)
    for name in changed:
        setattr(plan, name, changes[name])
    if changed:
        session.add(plan)
        _audit(session, by, plan, "plan.change", now, changed=changed)
    return changed


def add_encouragement(session: Session, plan: ReturnPlan, text: str, *, by: int | None,
                      now: datetime) -> PlanEncouragement:
    """Add the mentor's own morning text to the plan's rotation (audited, without the text)."""
    own = PlanEncouragement(plan_id=plan.id or 0, text=text, added_by=by, created_at=now)
    session.add(own)
    session.flush()
    _audit(session, by, plan, "plan.encouragement", now)
    return own


def own_encouragements(session: Session, plan_ids: list[int]) -> dict[int, list[str]]:
    """Per plan, the texts its mentor added, oldest first."""
    found: dict[int, list[str]] = {}
    for part in chunks(plan_ids):
        for plan_id, text in session.execute(
            select(PlanEncouragement.plan_id, PlanEncouragement.text)
            .where(col(PlanEncouragement.plan_id).in_(part))
            .order_by(col(PlanEncouragement.plan_id), col(PlanEncouragement.id))
        ).all():
            found.setdefault(plan_id, []).append(text)
    return found


def set_messages_off(session: Session, student: Student, off: bool, *, by: int | None,
                     now: datetime) -> bool:
    """A guardian's word that the school may (not) message the student; audited. Whether it
    changed anything."""
    if student.messages_off == off:
        return False
    student.messages_off = off
    session.add(student)
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli",
                         action="student.messages_off" if off else "student.messages_on",
                         entity="student", entity_id=str(student.id), detail={},
                         student_id=student.id))
    return True


def record_answer(session: Session, check_in: PlanCheckIn, answer: str,
                  now: datetime) -> None:
    """The student's answer to the day's check-in (a later answer replaces it)."""
    check_in.answer, check_in.answered_at = answer, now
    session.add(check_in)


def _audit(session: Session, by: int | None, plan: ReturnPlan, action: str,
           now: datetime, **detail: object) -> None:
    session.add(AuditLog(at=now, actor=f"person:{by}" if by else "cli", action=action,
                         entity="return_plan", entity_id=str(plan.id),
                         detail={"student": plan.student_id, **detail},
                         student_id=plan.student_id))


def open_check_ins(session: Session, wanted: list[tuple[int, date, int]],
                   now: datetime) -> dict[tuple[int, date], int]:
    """Create the day's check-in of each (plan, day, encouragement) once; returns the ids of
    the new ones by (plan, day) (one that exists already was sent: it is left out)."""
    if not wanted:
        return {}
    statement = (insert_new(PlanCheckIn, session.get_bind().dialect.name, ["plan_id", "day"])
                 .returning(col(PlanCheckIn.plan_id), col(PlanCheckIn.day), col(PlanCheckIn.id)))
    rows = [{"plan_id": plan_id, "day": day, "message": message, "sent_at": now}
            for plan_id, day, message in wanted]
    return {(plan_id, day): int(ident)
            for plan_id, day, ident in session.execute(statement, rows).all()}
