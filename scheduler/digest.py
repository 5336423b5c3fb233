"""Staff hear of their tasks every morning; a task left undone goes to the principal as well.

At 08:00 on school days (the school's time), each staff member with tasks due today or
overdue (made before that morning) gets one message listing them. A task still open two
school days after it was due is sent to the school's principal too, once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_day, task_kind
from policy.return_plan import COMING, LATER
from policy.routing import AUTO
from scheduler.schools import each_school
from storage.models import (
    Person,
    PlanCheckIn,
    ReturnPlan,
    School,
    StaffRole,
    StaffTask,
    Student,
)
from storage.outbox import MessageKind, enqueue
from storage.plan_tasks import plan_words
from storage.tasks import student_label, task_student

DIGEST_AT, DIGEST_UNTIL = time(8, 0), time(12, 0)
#: School days after its due date that a task still open is shown to the principal.
OVERDUE_SCHOOL_DAYS = 2
def _title(session: Session, task: StaffTask, language: str) -> str:
    words = plan_words(session, task)
    return words if words else task_kind(task.kind, language)


def _line(session: Session, task: StaffTask, language: str) -> str:
    student = task_student(session, task)
    title = _title(session, task, language)
    return f"• {title}: {student_label(session, student)}" if student else f"• {title}"


def _on_the_way(session: Session, school: School, day: date,
                before: datetime) -> dict[int, list[str]]:
    """Per trusted adult, the students on a return plan who answered "I'm coming" (or
    later) this morning before the list went out."""
    found: dict[int, list[str]] = defaultdict(list)
    for plan, student in session.execute(
        select(ReturnPlan, Student)
        .join(PlanCheckIn, col(PlanCheckIn.plan_id) == ReturnPlan.id)
        .join(Student, col(Student.id) == ReturnPlan.student_id)
        .where(Student.school_id == school.id, PlanCheckIn.day == day,
               col(PlanCheckIn.answer).in_([COMING, LATER]),
               col(PlanCheckIn.answered_at) < before)
    ).all():
        adult = plan.trusted_adult_id or plan.mentor_id
        if adult is not None:
            found[adult].append(student_label(session, student))
    return found


def send_staff_digests(session: Session, now: datetime) -> int:
    """One morning list per staff member with tasks due today or overdue, once a day."""
    queued = 0
    for found in each_school(session, now):
        school, zone, local = found.school, found.zone, found.local
        if not DIGEST_AT <= found.clock < DIGEST_UNTIL:
            continue
        if not found.calendar.is_school_day(found.today):
            continue
        end_of_day = found.at(found.today, time(23, 59))
        # What was on the list when the day began: a task made later came with its own prompt.
        day_began = found.at(found.today, DIGEST_AT)
        by_owner: dict[int, list[StaffTask]] = defaultdict(list)
        for task in session.execute(
            select(StaffTask).where(StaffTask.school_id == school.id,
                                    col(StaffTask.status).in_(["open", "snoozed"]),
                                    StaffTask.due_at <= end_of_day,
                                    StaffTask.created_at < day_began)
            .order_by(col(StaffTask.due_at))
        ).scalars():
            by_owner[task.assignee_id].append(task)
        on_the_way = _on_the_way(session, school, local.date(), day_began)
        for owner_id in list(by_owner) + [a for a in on_the_way if a not in by_owner]:
            tasks = by_owner.get(owner_id, [])
            owner = session.get(Person, owner_id)
            if owner is None:
                continue
            language = owner.language
            today = [t for t in tasks if t.due_at.astimezone(zone).date() == local.date()]
            late = [t for t in tasks if t not in today]
            lines = []
            if on_the_way.get(owner_id):
                # Translators: heading of the return-plan students who answered the morning
                # check-in "I'm coming" (a quiet positive note in the morning list).
                lines.append(gettext_for(language, "On their way this morning (return plan):"))
                lines += [f"• {label}" for label in on_the_way[owner_id]]
            if today:
                lines.append(gettext_for(language, "Your tasks today:"))
                lines += [_line(session, t, language) for t in today]
            if late:
                lines.append(gettext_for(language, "Overdue:"))
                lines += [_line(session, t, language) for t in late]
            queued += enqueue(
                session, dedupe_key=f"digest:{owner_id}:{local.date().isoformat()}",
                kind=MessageKind.DIGEST,
                recipient_id=owner_id, channel=AUTO, language=language, now=now,
                text="\n".join(lines))
    return queued


def escalate_overdue_tasks(session: Session, now: datetime) -> int:
    """A task open two school days past its due date goes to the principal too, once."""
    queued = 0
    for found in each_school(session, now):
        school, zone, local = found.school, found.zone, found.local
        principals = session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(StaffRole.school_id == school.id, StaffRole.role == "principal")
        ).scalars().unique().all()
        if not principals:
            continue
        for task in session.execute(
            select(StaffTask).where(StaffTask.school_id == school.id,
                                    col(StaffTask.status).in_(["open", "snoozed"]),
                                    StaffTask.due_at < now)
        ).scalars():
            due = task.due_at.astimezone(zone).date()
            try:
                late = found.calendar.add_school_days(due, OVERDUE_SCHOOL_DAYS) <= local.date()
            except ValueError:
                late = False
            owner = session.get(Person, task.assignee_id)
            if not late or owner is None:
                continue
            for principal in principals:
                if principal.id == owner.id:
                    continue
                language = principal.language
                student = task_student(session, task)
                queued += enqueue(
                    session, dedupe_key=f"overdue:{task.id}:{principal.id}",
                    kind=MessageKind.OVERDUE, task_id=task.id, student_id=task.student_id,
                    recipient_id=principal.id, channel=AUTO, language=language, now=now,
                    text=gettext_for(
                        language,
                        # Translators: to a principal. {task}: what is to be done; {student}:
                        # "Name (class)"; {owner}: the staff member; {day}: the due date.
                        "Not done since {day}: {task}, {student} (responsible: {owner}).",
                        task=_title(session, task, language),
                        student=student_label(session, student) if student else "-",
                        owner=owner.name, day=format_day(due, language).rstrip(".")))
    return queued
