"""Staff act on their tasks from the chat: a call's outcome, a held burst of notices."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from handlers import meeting_booking
from handlers.messages import Choice, Context, Reply
from locales import gettext_for
from locales.formats import format_day
from policy.choices import (
    ChoiceKey,
    GuardCancel,
    GuardSend,
    TaskBook,
    TaskBookOn,
    TaskDone,
    TaskHandover,
    TaskHandTo,
    TaskHeld,
    TaskNotNeeded,
    TaskReached,
    TaskRetry,
    TaskTomorrow,
)
from policy.routing import AUTO
from services.task_buttons import task_choices
from storage.models import Person, School, StaffRole, StaffTask
from storage.outbox import MessageKind, enqueue
from storage.plan_tasks import plan_task
from storage.schools import notice_rules, school_calendar, school_zone
from storage.tasks import (
    audit_task,
    close_task,
    own_task,
    snooze_task,
    student_label,
    task_student,
)

log = logging.getLogger(__name__)
GUARD_KIND = "confirm_notices"
#: The choices that act on a task (Done is `handlers.mentor_notices.done`).
KINDS = (TaskReached, TaskRetry, TaskNotNeeded, TaskTomorrow, TaskHandover, TaskHandTo,
         TaskHeld, TaskBook, TaskBookOn, GuardSend, GuardCancel)
GUARD_KINDS = (GuardSend, GuardCancel)
PLAN_KINDS = (TaskHeld, TaskBook, TaskBookOn)
#: How many colleagues a hand-over offers.
MAX_COLLEAGUES = 12


def act(context: Context) -> Reply:
    """Record the outcome the person chose for their own task (nobody else's)."""
    session, person, now, key = context.session, context.person, context.now, context.choice
    language = person.language
    task = own_task(session, person, key.task) if isinstance(key, KINDS) else None
    if task is None or key is None:
        return Reply(gettext_for(language, "That task is not on your list."))
    if task.status in ("done", "not_needed"):
        return Reply(gettext_for(language, "That is already done. Thank you!"))
    if isinstance(key, GUARD_KINDS) != (task.kind == GUARD_KIND) or (
            isinstance(key, PLAN_KINDS) and plan_task(session, task) is None):
        return Reply(gettext_for(language, "That task is not on your list."))
    answer = _ANSWERS.get(type(key))
    if answer is not None:
        return answer(session, person, task, now)
    if isinstance(key, GUARD_KINDS):
        return _guard(session, person, task, send=isinstance(key, GuardSend), now=now)
    if isinstance(key, TaskHandTo):
        return _hand_to(session, person, task, key.person, now)
    if isinstance(key, TaskBookOn):
        return meeting_booking.book(session, person, task, key.day, now)
    outcome = "reached" if isinstance(key, TaskReached) else "not_needed"
    close_task(task, status="done" if outcome == "reached" else "not_needed", outcome=outcome,
               now=now)
    session.add(task)
    audit_task(session, person, task, outcome, now)
    student = task_student(session, task)
    if student is not None:  # which one, when a text message's number answered the latest
        return Reply(gettext_for(language, "Noted: {student}. Thank you!",
                                 student=student_label(session, student)))
    return Reply(gettext_for(language, "Noted. Thank you!"))


def _retry(session: Session, person: Person, task: StaffTask, now: datetime) -> Reply:
    """No answer: the call comes back after the school's retry time."""
    minutes = _retry_minutes(session, task)
    snooze_task(task, minutes=minutes, now=now)
    session.add(task)
    audit_task(session, person, task, "no_answer", now)
    remind = (now + _minutes(minutes)).astimezone(_zone(session, task))
    return Reply(gettext_for(person.language, "I will remind you at {time}.",
                             time=f"{remind:%H:%M}"))


def _tomorrow(session: Session, person: Person, task: StaffTask, now: datetime) -> Reply:
    """Put the task off to the next school day, at the start of the day (08:00)."""
    school = _school(session, task)
    zone = _zone(session, task)
    today = now.astimezone(zone).date()
    try:
        day = school_calendar(session, school).add_school_days(today, 1) if school else (
            today + timedelta(days=1))
    except ValueError:
        day = today + timedelta(days=1)
    task.status, task.remind_at = "snoozed", datetime.combine(day, time(8, 0), zone)
    session.add(task)
    audit_task(session, person, task, "snoozed", now)
    return Reply(gettext_for(person.language, "I will remind you on {day}.",
                             day=format_day(day, person.language).rstrip(".")))


def _colleagues(session: Session, person: Person, task: StaffTask) -> list[Person]:
    return [colleague for colleague in session.execute(
        select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
        .where(StaffRole.school_id == task.school_id, Person.id != person.id)
        .order_by(col(Person.name))).scalars().unique()][:MAX_COLLEAGUES]


def _ask_whom(session: Session, person: Person, task: StaffTask, now: datetime) -> Reply:
    """The colleagues at the task's school, as buttons."""
    return Reply(
        gettext_for(person.language, "Hand this task to whom?"),
        tuple(Choice(TaskHandTo(task.id or 0, colleague.id or 0), colleague.name)
              for colleague in _colleagues(session, person, task)),
    )


def _hand_to(session: Session, person: Person, task: StaffTask, target: int,
             now: datetime) -> Reply:
    """Give the task to a colleague at the same school, who is told at once."""
    colleague = next((c for c in _colleagues(session, person, task) if c.id == target), None)
    if colleague is None:
        return Reply(gettext_for(person.language, "That task is not on your list."))
    task.assignee_id, task.status, task.remind_at = colleague.id or 0, "open", None
    session.add(task)
    audit_task(session, person, task, "handed_over", now)
    student = task_student(session, task)
    origin = plan_task(session, task)
    what = origin.rule.what if origin else task.kind
    language = colleague.language
    enqueue(
        session, dedupe_key=f"handover:{task.id}:{colleague.id}:{now.isoformat()}"[:200],
        kind=MessageKind.HANDOVER, task_id=task.id, student_id=task.student_id,
        recipient_id=colleague.id, channel=AUTO, language=language, now=now,
        text=gettext_for(
            language,
            # Translators: to a staff member; {name}: the colleague; {what}: the task;
            # {student}: "Name (class)".
            "{name} handed you a task: {what}: {student}.", name=person.name, what=what,
            student=student_label(session, student) if student else "-"),
        choices=task_choices(origin, task.id or 0, language) if origin else [
            Choice(TaskDone(task.id or 0), gettext_for(language, "Done")).as_dict(),
            Choice(TaskNotNeeded(task.id or 0), gettext_for(language, "Not needed")).as_dict()],
    )
    return Reply(gettext_for(person.language, "Handed to {name}.", name=colleague.name))


def _guard(session: Session, person: Person, task: StaffTask, *, send: bool,
           now: datetime) -> Reply:
    """Settle a held burst for everyone who was asked (the first answer counts)."""
    scope_day = task.dedupe_key.rsplit(":", 1)[0]
    outcome = "confirmed" if send else "cancelled"
    for sibling in session.execute(
        select(StaffTask).where(col(StaffTask.dedupe_key).like(f"{scope_day}:%"),
                                StaffTask.status == "open")
    ).scalars():
        close_task(sibling, status="done", outcome=outcome, now=now)
        session.add(sibling)
    audit_task(session, person, task, outcome, now)
    language = person.language
    if send:
        return Reply(gettext_for(language, "The notices are being sent."))
    return Reply(gettext_for(language, "No notices will be sent for this roll call. Please "
                                       "check it and correct it."))


def _school(session: Session, task: StaffTask) -> School | None:
    return session.get(School, task.school_id)


def _zone(session: Session, task: StaffTask) -> ZoneInfo:
    return school_zone(session, task.school_id)


def _retry_minutes(session: Session, task: StaffTask) -> int:
    school = _school(session, task)
    return notice_rules(school).call_retry_minutes if school else 120


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


#: The buttons whose answer needs only the task.
_ANSWERS: dict[type[ChoiceKey], Callable[[Session, Person, StaffTask, datetime], Reply]] = {
    TaskTomorrow: _tomorrow, TaskHandover: _ask_whom, TaskRetry: _retry,
    TaskHeld: meeting_booking.held, TaskBook: meeting_booking.ask_day,
}
