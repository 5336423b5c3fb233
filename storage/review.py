"""The reads behind the monthly review: the absences, classes, ladder positions, tasks and
return plans of a month, for a school (by class) or a municipality (by school), in a few
bulk queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from policy.review import AbsenceRow, Review, absence_shares, task_timeliness
from storage.models import (
    Absence,
    LadderPosition,
    PlanCheckIn,
    ReturnPlan,
    School,
    SchoolClass,
    StaffTask,
    Student,
)
from storage.schools import school_calendar


def monthly_review(session: Session, school: School, first: date, last: date, *,
                   now: datetime) -> Review:
    """The review of `school` from `first` to `last` (a month), by class, as of `now`."""
    return _review(session, [school], first, last, now=now, by_school=False)


def municipality_review(session: Session, schools: Sequence[School], first: date, last: date,
                        *, now: datetime) -> Review:
    """The review of several schools together, by school (their calendar is the first
    school's: a municipality's schools share one)."""
    return _review(session, list(schools), first, last, now=now, by_school=True)


def _review(session: Session, schools: list[School], first: date, last: date, *,
            now: datetime, by_school: bool) -> Review:
    calendar = school_calendar(session, schools[0])
    days = calendar.school_days(first, last)
    ids = [school.id or 0 for school in schools]
    group = col(School.name) if by_school else col(SchoolClass.name)
    sizes = dict(session.execute(
        select(group, func.count(col(Student.id)))
        .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
        .join(School, col(School.id) == Student.school_id)
        .where(col(Student.school_id).in_(ids)).group_by(group)).all())
    rows = [AbsenceRow(name, day, state == "reported", start, end, state == "leave")
            for name, day, state, start, end in session.execute(
                select_columns(group, col(Absence.day), col(Absence.state),
                               col(Absence.lesson_start), col(Absence.lesson_end))
                .join(Student, col(Student.id) == Absence.student_id)
                .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
                .join(School, col(School.id) == Student.school_id)
                .where(col(Student.school_id).in_(ids), col(Absence.kind) == "absent",
                       col(Absence.state).in_(["reported", "unexcused", "leave"]),
                       col(Absence.day) >= first, col(Absence.day) <= last)).all()]
    by_group, by_week = absence_shares(rows, {str(k): int(v) for k, v in sizes.items()}, days)
    steps = Counter(step for (step,) in session.execute(
        select(LadderPosition.step_id).join(Student, col(Student.id) == LadderPosition.student_id)
        .where(col(Student.school_id).in_(ids), col(LadderPosition.step_id).is_not(None))).all())
    zone = ZoneInfo(schools[0].timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last, time(23, 59, 59), zone)
    on_time, late, overdue = task_timeliness([(due, done) for due, done in session.execute(
        select(StaffTask.due_at, StaffTask.done_at)
        .where(col(StaffTask.school_id).in_(ids), col(StaffTask.due_at) >= start,
               col(StaffTask.due_at) <= end, col(StaffTask.status).in_(["open", "done"]))
    ).all()], now)
    plans = list(session.execute(
        select(ReturnPlan.id).join(Student, col(Student.id) == ReturnPlan.student_id)
        .where(col(Student.school_id).in_(ids), col(ReturnPlan.starts_on) <= last,
               (col(ReturnPlan.ends_on).is_(None)) | (col(ReturnPlan.ends_on) >= first))
    ).scalars())
    answered = [answer for (answer,) in session.execute(
        select(PlanCheckIn.answer).where(col(PlanCheckIn.plan_id).in_(plans),
                                         col(PlanCheckIn.day) >= first,
                                         col(PlanCheckIn.day) <= last)).all()] if plans else []
    return Review(first, last, by_group, by_week, dict(sorted(steps.items())), on_time, late,
                  overdue, len(plans),
                  round(100 * len([a for a in answered if a]) / len(answered), 1)
                  if answered else 0.0, default_year=not calendar.terms)
