"""Leave applications: stored with their school days, decided day by day, and what a
granted day does to the roll call (its absence is "leave": no notice, no call, counted
as the plan says)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from policy.leave import (
    GRANTED,
    MENTOR,
    PENDING,
    PRINCIPAL,
    REFUSED,
    WITHDRAWN,
    decider_role,
    new_leave_reference,
    rules_for,
)
from policy.reporting import part_overlaps
from storage.audit import actor_of, audit
from storage.connectors import queue_leave_day
from storage.db import chunks
from storage.models import (
    Absence,
    CalendarPeriod,
    LeaveApplication,
    LeaveDay,
    MentorLink,
    Person,
    School,
    SchoolClass,
    StaffRole,
    StaffTask,
    Student,
)
from storage.tasks import add_task

#: The staff task that puts an application in its decider's morning list.
TASK_KIND = "leave_decision"
#: Absence states a granted day turns into "leave".
LEAVABLE = ("open", "unexcused", "reported")
#: Calendar entries that weigh in a decision (`narvaro calendar import`, kind column).
EVENT_KINDS = ("exam", "tests", "event")


def task_key(application_id: int, person_id: int) -> str:
    """The dedupe key of the decision task of `person_id` for an application."""
    return f"leave:{application_id}:{person_id}"


def principals(session: Session, school_id: int) -> list[Person]:
    """The school's principals, in roster order."""
    return list(session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == school_id, StaffRole.role == PRINCIPAL)
        .order_by(col(Person.id))).scalars().unique())


def mentors(session: Session, student_id: int) -> list[Person]:
    """The student's mentors, in roster order."""
    return list(session.execute(
        select(Person).join(MentorLink, col(MentorLink.mentor_id) == Person.id)
        .where(MentorLink.student_id == student_id).order_by(col(Person.id))).scalars())


def decider_for(session: Session, student: Student, school_days: int) -> tuple[Person | None, str]:
    """Who decides an application of this many school days for `student`, and as what: the
    mentor up to the school's limit, else (or without a mentor) the principal."""
    school = session.get(School, student.school_id)
    rules = rules_for(school.country if school else "", school.settings if school else None)
    role = decider_role(school_days, rules)
    if role == MENTOR:
        found = mentors(session, student.id or 0)
        if found:
            return found[0], MENTOR
    heads = principals(session, student.school_id)
    if heads:
        return heads[0], PRINCIPAL
    found = mentors(session, student.id or 0)
    return (found[0], MENTOR) if found else (None, PRINCIPAL)


def _reference(session: Session) -> str:
    while True:
        reference = new_leave_reference()
        taken = session.execute(select(LeaveApplication.id).where(
            LeaveApplication.reference == reference)).first()
        if taken is None:
            return reference


def create_application(
    session: Session, *, student: Student, applicant: Person, channel: str,
    days: Sequence[date], part_start: time | None, part_end: time | None, note: str | None,
    now: datetime,
) -> LeaveApplication:
    """Store an application for these school days, give its decider the task (their
    morning list shows it until it is decided) and audit it (ids only)."""
    assert student.id is not None and applicant.id is not None and days
    decider, role = decider_for(session, student, len(days))
    application = LeaveApplication(
        reference=_reference(session), student_id=student.id, applicant_id=applicant.id,
        channel=channel, applied_at=now, first_day=min(days), last_day=max(days),
        part_start=part_start, part_end=part_end, note=(note or None) and note[:300],
        decider_id=decider.id if decider else None, decider_role=role)
    session.add(application)
    session.flush()
    assert application.id is not None
    for day in sorted(set(days)):
        session.add(LeaveDay(application_id=application.id, student_id=student.id, day=day))
    if decider is not None:
        add_task(session, dedupe_key=task_key(application.id, decider.id or 0),
                 school_id=student.school_id, student_id=student.id, assignee=decider,
                 kind=TASK_KIND, now=now)
    audit(session, at=now, actor=actor_of(applicant.id), action="leave.apply",
          entity="leave_application", entity_id=application.reference, student_id=student.id,
          days=len(days), decider=decider.id if decider else None, role=role)
    return application


def days_of(session: Session, application_id: int) -> list[LeaveDay]:
    """An application's school days, in order."""
    return list(session.execute(select(LeaveDay).where(
        LeaveDay.application_id == application_id).order_by(col(LeaveDay.day))).scalars())


#: Granted leave by (student, day): the hours of each grant (None, None: the whole day).
LeaveParts = dict[tuple[int, date], list[tuple[time | None, time | None]]]


def leave_parts(session: Session, student_ids: Iterable[int],
                days: Iterable[date]) -> LeaveParts:
    """The granted leave of these students on these days, read at once (a roll call of
    thousands asks one query, not one per absence)."""
    ids, wanted = sorted(set(student_ids)), sorted(set(days))
    found: LeaveParts = {}
    if not ids or not wanted:
        return found
    for part in chunks(ids):
        for student_id, day, start, end in session.execute(
            select(col(LeaveDay.student_id), col(LeaveDay.day),
                   col(LeaveApplication.part_start), col(LeaveApplication.part_end))
            .join(LeaveApplication, col(LeaveApplication.id) == LeaveDay.application_id)
            .where(col(LeaveDay.student_id).in_(part), col(LeaveDay.day).in_(wanted),
                   LeaveDay.decision == GRANTED)).all():
            found.setdefault((student_id, day), []).append((start, end))
    return found


def on_leave(parts: LeaveParts, student_id: int, day: date, lesson_start: time | None = None,
             lesson_end: time | None = None) -> bool:
    """Whether the student has granted leave on `day` (for this lesson, when given): the
    one question the roll call and its notices ask (of `leave_parts`)."""
    return any(part_overlaps(lesson_start, lesson_end, start, end)
               for start, end in parts.get((student_id, day), ()))


def on_leave_by_mentor(session: Session, school_id: int,
                       day: date) -> dict[int, list[tuple[Student, str, str]]]:
    """The school's students with leave granted on `day` (whole day or part), by mentor:
    each as (student, name, class name), in class and name order."""
    found: dict[int, list[tuple[Student, str, str]]] = {}
    for mentor_id, student, name, class_name in session.execute(
            select(col(MentorLink.mentor_id), Student, col(Person.name), col(SchoolClass.name))
            .join(LeaveDay, col(LeaveDay.student_id) == MentorLink.student_id)
            .join(Student, col(Student.id) == MentorLink.student_id)
            .join(Person, col(Person.id) == Student.person_id)
            .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
            .where(Student.school_id == school_id, LeaveDay.day == day,
                   LeaveDay.decision == GRANTED)
            .distinct()
            .order_by(col(SchoolClass.name), col(Person.name))).all():
        found.setdefault(mentor_id, []).append((student, name, class_name))
    return found


def mark_leave(session: Session, application: LeaveApplication, granted: Iterable[date],
               now: datetime) -> int:
    """The roll call's absences on granted days become "leave"; returns how many."""
    changed = 0
    for absence in session.execute(select(Absence).where(
            Absence.student_id == application.student_id, col(Absence.day).in_(list(granted)),
            col(Absence.state).in_(LEAVABLE))).scalars():
        if part_overlaps(absence.lesson_start, absence.lesson_end, application.part_start,
                         application.part_end):
            absence.state, absence.updated_at = "leave", now
            changed += 1
    return changed


@dataclass(frozen=True)
class Decided:
    """What a decision settled: the days granted and refused."""

    granted: tuple[date, ...]
    refused: tuple[date, ...]


def decide(
    session: Session, application: LeaveApplication, *, granted: Iterable[date],
    refused: Iterable[date], by: Person | None, refusal: str | None = None,
    refusal_note: str | None = None, now: datetime,
) -> Decided:
    """Decide the application's pending days (days not named stay as they are; a day named
    twice is refused). Closes the decision tasks, marks the granted days' absences as
    leave, and audits the decision (ids and counts only)."""
    wanted_refused = set(refused)
    wanted_granted = set(granted) - wanted_refused
    done_granted, done_refused = [], []
    for row in days_of(session, application.id or 0):
        if row.decision != PENDING:
            continue
        if row.day in wanted_granted:
            row.decision = GRANTED
            done_granted.append(row.day)
        elif row.day in wanted_refused:
            row.decision = REFUSED
            done_refused.append(row.day)
    left = [row for row in days_of(session, application.id or 0) if row.decision == PENDING]
    if not left:
        application.status = "decided"
    application.decided_by = by.id if by else None
    application.decided_at = now
    if done_refused:
        application.refusal = refusal or "other"
        application.refusal_note = (refusal_note or None) and (refusal_note or "")[:200]
    session.add(application)
    marked = mark_leave(session, application, done_granted, now)
    for row in days_of(session, application.id or 0):
        if row.day in done_granted:
            queue_leave_day(session, row, now)
    if not left:
        outcome = ("granted" if not done_refused else "refused" if not done_granted
                   else "partly")
        for task in _open_tasks(session, application):
            task.status, task.outcome, task.done_at = "done", outcome, now
    audit(session, at=now, actor=actor_of(by.id if by else None), action="leave.decide",
          entity="leave_application", entity_id=application.reference,
          student_id=application.student_id, granted=len(done_granted),
          refused=len(done_refused), refusal=application.refusal if done_refused else None,
          absences=marked)
    return Decided(tuple(done_granted), tuple(done_refused))


def _open_tasks(session: Session, application: LeaveApplication) -> list[StaffTask]:
    """The application's decision tasks still open (its decider's, a principal's after
    escalation), by their key (`task_key`)."""
    return list(session.execute(select(StaffTask).where(
        col(StaffTask.dedupe_key).startswith(f"leave:{application.id}:"),
        col(StaffTask.status).in_(["open", "snoozed"]))).scalars())


def withdrawable(session: Session, application: LeaveApplication) -> bool:
    """Whether the applicant may still take the application back: no day of it decided."""
    return application.status == PENDING and all(
        row.decision == PENDING for row in days_of(session, application.id or 0))


def withdrawable_of(session: Session, applicant: Person) -> list[LeaveApplication]:
    """The applications `applicant` may still take back, oldest first."""
    return [application for application in session.execute(
        select(LeaveApplication).where(LeaveApplication.applicant_id == applicant.id,
                                       LeaveApplication.status == PENDING)
        .order_by(col(LeaveApplication.id))).scalars()
        if withdrawable(session, application)]


def own_application(session: Session, applicant: Person,
                    reference: str) -> LeaveApplication | None:
    """`applicant`'s application with this reference (anyone else's: None)."""
    return session.execute(select(LeaveApplication).where(
        LeaveApplication.applicant_id == applicant.id,
        LeaveApplication.reference == reference)).scalar_one_or_none()


def withdraw(session: Session, application: LeaveApplication, *, by: Person,
             now: datetime) -> None:
    """Take the application back: no longer pending (nor in any decider's list or morning
    tasks), audited (ids only)."""
    application.status = WITHDRAWN
    session.add(application)
    for task in _open_tasks(session, application):
        task.status, task.outcome, task.done_at = "not_needed", "withdrawn", now
    audit(session, at=now, actor=actor_of(by.id), action="leave.withdraw",
          entity="leave_application", entity_id=application.reference,
          student_id=application.student_id)


def escalate(session: Session, application: LeaveApplication, principal: Person,
             now: datetime) -> None:
    """Move an unanswered application from the mentor to the principal (audited)."""
    for task in _open_tasks(session, application):
        task.status, task.outcome, task.done_at = "not_needed", "escalated", now
    application.decider_id, application.decider_role = principal.id, PRINCIPAL
    application.escalated_at = now
    session.add(application)
    student = session.get(Student, application.student_id)
    assert student is not None
    add_task(session, dedupe_key=task_key(application.id or 0, principal.id or 0),
             school_id=student.school_id, student_id=student.id, assignee=principal,
             kind=TASK_KIND, now=now)
    audit(session, at=now, actor="system", action="leave.escalate",
          entity="leave_application", entity_id=application.reference,
          student_id=application.student_id, decider=principal.id)


def may_decide(session: Session, application: LeaveApplication, person: Person) -> bool:
    """Whether `person` may decide the application: its decider, or a principal of the
    student's school."""
    if application.decider_id == person.id:
        return True
    student = session.get(Student, application.student_id)
    return student is not None and any(
        head.id == person.id for head in principals(session, student.school_id))


def pending_applications(session: Session,
                         school_id: int | None = None) -> list[LeaveApplication]:
    """Every application with days still to decide (of the school's students, with
    `school_id`), oldest first."""
    query = select(LeaveApplication).where(col(LeaveApplication.status) == PENDING)
    if school_id is not None:
        query = query.join(Student, col(Student.id) == LeaveApplication.student_id).where(
            col(Student.school_id) == school_id)
    return list(session.exec(query.order_by(col(LeaveApplication.id))).all())


def calendar_events(session: Session, school_id: int, first: date,
                    last: date) -> list[tuple[str, str, date, date]]:
    """What the school's calendar has from `first` to `last` that weighs in a decision:
    tests, national exams, events, and a term that starts then; as (kind, name, start,
    end), in order."""
    found = []
    for period in session.execute(select(CalendarPeriod).where(
            CalendarPeriod.school_id == school_id,
            col(CalendarPeriod.kind).in_([*EVENT_KINDS, "term"]),
            col(CalendarPeriod.start) <= last, col(CalendarPeriod.end) >= first)
            .order_by(col(CalendarPeriod.start))).scalars():
        if period.kind == "term":
            if first <= period.start <= last:
                found.append(("term_start", period.name, period.start, period.start))
            continue
        found.append((period.kind, period.name, period.start, period.end))
    return found


def absence_counts(session: Session, student_id: int, first: date,
                   last: date) -> dict[str, int]:
    """Whole or part days absent from `first` to `last` by how they stand: "days" (all),
    "unexcused", "leave" (granted)."""
    by_day: dict[date, set[str]] = {}
    for day, state in session.exec(select(col(Absence.day), col(Absence.state)).where(
            col(Absence.student_id) == student_id, col(Absence.kind) == "absent",
            col(Absence.state).in_(["reported", "unexcused", "leave", "open"]),
            col(Absence.day) >= first, col(Absence.day) <= last)).all():
        by_day.setdefault(day, set()).add(state)
    return {"days": len(by_day),
            "unexcused": sum(1 for states in by_day.values() if "unexcused" in states),
            "leave": sum(1 for states in by_day.values() if states == {"leave"})}


def list_applications(session: Session, *, status: str | None = None,
                      student: str | None = None) -> list[dict[str, object]]:
    """Applications as plain rows for the command line (never the applicant's note)."""
    query = select(LeaveApplication, Student.external_id).join(
        Student, col(Student.id) == LeaveApplication.student_id).order_by(
        col(LeaveApplication.id))
    if status is not None:
        query = query.where(LeaveApplication.status == status)
    if student is not None:
        query = query.where(Student.external_id == student)
    rows = []
    for application, external_id in session.execute(query).all():
        days = days_of(session, application.id or 0)
        rows.append({
            "reference": application.reference, "student_id": external_id,
            "first_day": application.first_day.isoformat(),
            "last_day": application.last_day.isoformat(),
            "part": (f"{application.part_start:%H:%M}-{application.part_end:%H:%M}"
                     if application.part_start and application.part_end else ""),
            "status": application.status, "decider_role": application.decider_role,
            "decider_id": application.decider_id,
            "applied_at": application.applied_at.isoformat(),
            "granted": [d.day.isoformat() for d in days if d.decision == GRANTED],
            "refused": [d.day.isoformat() for d in days if d.decision == REFUSED],
            "pending": [d.day.isoformat() for d in days if d.decision == PENDING],
            "refusal": application.refusal or "",
        })
    return rows
