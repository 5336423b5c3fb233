"""The reads behind the staff web overview: a staff member's schools and open tasks, each
class's absence this term, and one student's term as days per kind of event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from policy.calendar import DateRange, SchoolCalendar
from policy.ladder import MEETING_KINDS, Record, counters, term_of
from policy.review import Share
from storage.concerns import open_concern
from storage.models import Absence, ReturnPlan, School, StaffRole, StaffTask, Student
from storage.review import monthly_review
from storage.schools import school_calendar

#: The rows of a student's timeline, in the order they are drawn.
TIMELINE_KINDS = ("unexcused", "reported", "leave", "late", "notice", "call", "meeting",
                  "plan")
CALL_KINDS = frozenset({"call_home", "call_guardian"})


@dataclass(frozen=True)
class Term:
    """A school's term up to today, and its calendar."""

    school: School
    calendar: SchoolCalendar
    range: DateRange
    today: date

    @property
    def last(self) -> date:
        """The last day counted: today, or the term's end once it is over."""
        return min(self.today, self.range.end)


def term_for(session: Session, school: School, now: datetime) -> Term:
    """The school's current term as of `now` (in the school's time zone)."""
    calendar = school_calendar(session, school)
    today = now.astimezone(ZoneInfo(school.timezone)).date()
    return Term(school, calendar, term_of(calendar, today), today)


def staff_schools(session: Session, person_id: int) -> list[School]:
    """The schools where the person has a staff role, by name."""
    return list(session.execute(
        select(School).join(StaffRole, col(StaffRole.school_id) == School.id)
        .where(StaffRole.person_id == person_id).order_by(col(School.name))
    ).scalars().unique())


def class_shares(session: Session, term: Term, *, now: datetime) -> dict[str, Share]:
    """Each class of the school with its absence this term so far (reported, unexcused)."""
    return monthly_review(session, term.school, term.range.start, term.last,
                          now=now).by_class


def open_tasks(session: Session, person_id: int) -> list[StaffTask]:
    """The person's tasks not yet done (open or waiting for another try), soonest first."""
    return list(session.execute(
        select(StaffTask).where(StaffTask.assignee_id == person_id,
                                col(StaffTask.status).in_(["open", "snoozed"]))
        .order_by(col(StaffTask.due_at), col(StaffTask.id))).scalars())


def student_counters(session: Session, student: Student, term: Term) -> dict[str, float]:
    """The ladder's counters for the student over the term as of today."""
    rows = session.execute(select(Absence).where(
        Absence.student_id == student.id, col(Absence.day) >= term.range.start)).scalars()
    return counters([Record(a.day, a.kind, a.state, a.lesson_start, a.lesson_end)
                     for a in rows], term.calendar, term.today,
                    concern=open_concern(session, student.id or 0) is not None)


#: The timeline's row of an absence by its state (late aside; withdrawn: none).
_ABSENT_ROWS = {"reported": "reported", "leave": "leave", "unexcused": "unexcused",
                "open": "unexcused"}


def timeline(session: Session, student: Student, term: Term) -> dict[str, set[date]]:
    """The days of the term with each kind of event (TIMELINE_KINDS) for the student:
    absent without or with a report, late, notice sent, call made, meeting held, and the
    school days a return plan ran."""
    first, last = term.range.start, term.last
    zone = ZoneInfo(term.school.timezone)
    days: dict[str, set[date]] = {kind: set() for kind in TIMELINE_KINDS}
    for absence in session.execute(select(Absence).where(
            Absence.student_id == student.id, col(Absence.day) >= first,
            col(Absence.day) <= last)).scalars():
        row = "late" if absence.kind == "late" and absence.state != "withdrawn" else \
            _ABSENT_ROWS.get(absence.state)
        if row is not None:
            days[row].add(absence.day)
        if absence.notified_at is not None:
            days["notice"].add(absence.notified_at.astimezone(zone).date())
    start = datetime.combine(first, datetime.min.time(), zone)
    for task in session.execute(select(StaffTask).where(
            StaffTask.student_id == student.id, StaffTask.status == "done",
            col(StaffTask.done_at) >= start)).scalars():
        kind = ("call" if task.kind in CALL_KINDS
                else "meeting" if task.kind in MEETING_KINDS else None)
        if kind is not None and task.done_at is not None:
            days[kind].add(task.done_at.astimezone(zone).date())
    for plan in session.execute(select(ReturnPlan).where(
            ReturnPlan.student_id == student.id, col(ReturnPlan.starts_on) <= last)).scalars():
        day, end = max(plan.starts_on, first), min(plan.ends_on or last, last)
        while day <= end:
            if term.calendar.is_school_day(day) and str(day.isoweekday()) in plan.weekdays:
                days["plan"].add(day)
            day += timedelta(days=1)
    for kind in days:
        days[kind] = {day for day in days[kind] if first <= day <= last}
    return days
