"""A plan's meeting from the owner's phone: held (the plan's follow-up is created), or booked
for a day (a meeting task on that day, recalled the school day before)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.messages import Choice, Context, Reply
from locales import gettext_for
from locales.formats import format_day
from policy.choices import TaskBookOn
from policy.dayparse import parse_days
from policy.ladder import AFTER_MEETING
from storage.conversations import clear_state, set_state
from storage.models import Person, School, StaffTask, Student
from storage.plan_tasks import LADDER_PREFIX, create_plan_tasks, due_at, plan_task
from storage.schools import school_calendar
from storage.tasks import add_tasks, audit_task, close_task, own_task

DIALOG = "book_meeting"
#: School days offered as buttons when booking.
OFFERED_DAYS = 5
#: How far ahead a meeting can be booked.
MAX_AHEAD = timedelta(days=120)
#: How long a written day still answers the question (later, text is read afresh).
ANSWER_WINDOW = timedelta(minutes=30)


def ask_day(session: Session, person: Person, task: StaffTask, now: datetime) -> Reply:
    """Which day: the next school days as buttons, or a date written out."""
    school = session.get(School, task.school_id)
    if school is None:
        return Reply(gettext_for(person.language, "That task is not on your list."))
    today = now.astimezone(ZoneInfo(school.timezone)).date()
    calendar = school_calendar(session, school)
    days = calendar.school_days(today, today + timedelta(days=14))[:OFFERED_DAYS]
    set_state(session, person.id or 0, dialog=DIALOG, step="day", data={"task": task.id},
              now=now)
    return Reply(
        gettext_for(person.language, "Which day is the meeting? Choose a day or write a date."),
        tuple(Choice(TaskBookOn(task.id or 0, day), format_day(day, person.language))
              for day in days),
    )


def answer(context: Context) -> Reply:
    """A day written out for the meeting asked about."""
    session, person, text, now = context.session, context.person, context.text, context.now
    state = context.state
    task = own_task(session, person, int((state.data if state else {}).get("task", 0)))
    if task is None or task.status != "open":
        clear_state(session, person.id or 0)
        return Reply(gettext_for(person.language, "That task is not on your list."))
    school = session.get(School, task.school_id)
    today = now.astimezone(ZoneInfo(school.timezone if school else "UTC")).date()
    span = parse_days(text, person.language, today)
    if span is None:
        return Reply(gettext_for(person.language, "I could not read a date. Choose a day or "
                                                  "write one, for example 14/12."))
    return book(session, person, task, span.first, now)


def book(session: Session, person: Person, task: StaffTask, day: date,
         now: datetime) -> Reply:
    """Book the meeting for the day: the task moves there; the owner hears the day before."""
    language = person.language
    origin = plan_task(session, task)
    school = session.get(School, task.school_id)
    if origin is None or school is None:
        return Reply(gettext_for(language, "That task is not on your list."))
    zone = ZoneInfo(school.timezone)
    today = now.astimezone(zone).date()
    if not today <= day <= today + MAX_AHEAD:
        return Reply(gettext_for(language, "Please pick a day from today on."))
    if not school_calendar(session, school).is_school_day(day):
        return Reply(gettext_for(language, "{day} is not a school day. Please pick another "
                                           "day.", day=format_day(day, language).rstrip(".")))
    clear_state(session, person.id or 0)
    close_task(task, status="done", outcome="booked", now=now)
    session.add(task)
    key = task.dedupe_key.split(":")
    add_tasks(session, [{
        "dedupe_key": f"{LADDER_PREFIX}{':'.join(key[1:4])}:{person.id}:b{task.id}",
        "school_id": task.school_id, "student_id": task.student_id, "assignee_id": person.id,
        "kind": task.kind, "due_at": due_at(day, zone),
    }], now=now)
    audit_task(session, person, task, "booked", now, day=day.isoformat())
    return Reply(gettext_for(language, "Booked for {day}. I will remind you the school day "
                                       "before.", day=format_day(day, language).rstrip(".")))


def held(session: Session, person: Person, task: StaffTask, now: datetime) -> Reply:
    """The meeting was held: closed, and the plan's follow-up created (once)."""
    language = person.language
    close_task(task, status="done", outcome="held", now=now)
    session.add(task)
    audit_task(session, person, task, "held", now)
    origin = plan_task(session, task)
    school = session.get(School, task.school_id)
    student = task.student_id
    if origin is None or school is None or student is None or origin.tag.startswith("h"):
        return Reply(gettext_for(language, "Noted. Thank you!"))
    follow = [index for index, rule in enumerate(origin.step.tasks) if rule.after == AFTER_MEETING]
    pupil = session.get(Student, student)
    if not follow or pupil is None:
        return Reply(gettext_for(language, "Noted. Thank you!"))
    today = now.astimezone(ZoneInfo(school.timezone)).date()
    calendar = school_calendar(session, school)
    create_plan_tasks(session, school, calendar, pupil, origin.step, follow,
                      counted_from=today, tag=f"h{task.id}", now=now)
    rule = origin.step.tasks[follow[0]]
    day = rule.due_on(today, calendar)
    return Reply(gettext_for(language, "Noted. Next in the plan: {what}, due {day}.",
                             what=rule.what, day=format_day(day, language).rstrip(".")))
