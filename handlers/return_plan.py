"""Return plans from the chat: `/plan <name>` starts one for one of the staff member's own
students (or shows the running one, to change: handlers.plan_settings); the plan's buttons
end or extend it; the student answers the morning check-in, and an answer that needs a
grown-up reaches the trusted adult at once. Guardians have their say in
handlers.plan_consent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers import plan_consent, plan_settings
from handlers.messages import Choice, Context, Reply
from handlers.student_view import own_student
from locales import gettext_for
from locales.formats import format_day
from policy.choices import CheckIn, PlanEnd, PlanExtend, PlanMenu, TaskDone
from policy.return_plan import (
    ALARMING,
    ANSWERS,
    COMING,
    HELP,
    LATER,
    NOT_TODAY,
    clock_time,
    evaluation_day,
)
from policy.routing import AUTO
from storage.audit import audit
from storage.conversations import clear_state
from storage.models import Person, PlanCheckIn, ReturnPlan, School, Student
from storage.outbox import enqueue
from storage.reports import recipients_by_student
from storage.return_plans import (
    active_plan,
    change_plan,
    end_plan,
    extend_plan,
    record_answer,
    start_plan,
)
from storage.schools import school_calendar
from storage.tasks import add_task, student_label

COMMAND = "/plan"
MORNING_TIME = time(7, 15)


def reachable(person: Person) -> bool:
    """Whether the student can get the morning message: their own phone or Telegram."""
    return bool(person.phone or person.telegram_user_id)


def may_message(student: Student, pupil: Person) -> bool:
    """Whether the school may message the student directly: they can be reached, and no
    guardian said no (an adult student decides for themselves)."""
    return reachable(pupil) and (student.adult or not student.messages_off)


def handle(context: Context) -> Reply:
    """`/plan <name> [HH:MM]`: start a return plan for one of the person's own students, or
    show (and with a time, move) the one running. A guardian sees their children's. Any
    dialog open is closed."""
    session, person, roles, text, now = (context.session, context.person, context.roles,
                                         context.text, context.now)
    clear_state(session, person.id or 0)
    language = person.language
    if not roles.staff:
        if roles.children:
            return plan_consent.guardian_view(session, person, roles)
        return Reply(gettext_for(language, "This is for school staff."))
    words = text.split()[1:]
    morning = clock_time(words.pop()) if words and clock_time(words[-1]) else None
    name = " ".join(words)
    if not name:
        return Reply(gettext_for(language, "Write /plan and a name, for example /plan Ali."))
    student = own_student(session, person, roles, name)
    if isinstance(student, Reply):
        return student
    running = active_plan(session, student.id or 0)
    if running is not None:
        said = ""
        if morning is not None and change_plan(session, running, by=person.id, now=now,
                                               morning_time=morning):
            said = gettext_for(language, "The morning message now goes at {time}.",
                               time=f"{morning:%H:%M}")
        audit(session, at=now, actor=f"person:{person.id}", action="plan.view",
              entity="return_plan", entity_id=running.id, student_id=student.id)
        return plan_settings.show(session, person, running, said=said)
    return _start(session, person, student, morning or MORNING_TIME, now)


def _start(session: Session, person: Person, student: Student, morning: time,
           now: datetime) -> Reply:
    language = person.language
    school = session.get(School, student.school_id)
    pupil = session.get(Person, student.person_id)
    label = student_label(session, student)
    if school is None or pupil is None:
        return Reply(gettext_for(language, "This is for school staff."))
    refusal = unreachable_because(student, pupil, language, label)
    if refusal:
        return Reply(refusal)
    calendar = school_calendar(session, school)
    local = now.astimezone(ZoneInfo(school.timezone))
    first = local.date()
    if not calendar.is_school_day(first) or local.time().replace(tzinfo=None) >= morning:
        first = calendar.add_school_days(first, 1)
    plan, _new = start_plan(session, student.id or 0, by=person.id, starts_on=first,
                            evaluate_on=evaluation_day(first, calendar), morning_time=morning,
                            adult_id=person.id, goal=None, now=now)
    plan_consent.announce(session, plan, now)
    buttons = (Choice(PlanMenu(plan.id or 0), gettext_for(language, "Change the plan")),
               Choice(PlanEnd(plan.id or 0), gettext_for(language, "End the plan")))
    evaluate = format_day(plan.followup_on or first, language).rstrip(".")
    return Reply(gettext_for(
        language,
        # Translators: to staff. {time}: 07:15; {first} and {day}: dates.
        "Return plan started for {student}: a morning message at {time} on school days from "
        "{first}, evaluation {day}. You hear at once if the student needs help or does not "
        "answer.", student=label, time=f"{morning:%H:%M}",
        first=format_day(first, language).rstrip("."), day=evaluate), buttons)


def unreachable_because(student: Student, pupil: Person, language: str,
                        label: str) -> str | None:
    """Why the morning messages cannot go to the student, if they cannot: no phone or
    Telegram of their own, or a guardian said no (for a student under 18)."""
    if not reachable(pupil):
        return gettext_for(
            language, "{student} has no phone or Telegram of their own in the roster, so the "
                      "morning messages cannot reach them.", student=label)
    if student.messages_off and not student.adult:
        return gettext_for(
            language, "A guardian of {student} has asked the school not to message them, so "
                      "there can be no morning messages.", student=label)
    return None


def act(context: Context) -> Reply:
    """A plan's End or Go on button (staff)."""
    session, person, roles, now, key = (context.session, context.person, context.roles,
                                        context.now, context.choice)
    language = person.language
    if not isinstance(key, PlanEnd | PlanExtend):
        return Reply(gettext_for(language, "That question is no longer open."))
    plan = plan_settings.own_plan(session, person, roles, key.plan)
    if isinstance(plan, Reply):
        return plan
    student = session.get(Student, plan.student_id)
    label = student_label(session, student) if student else "-"
    if isinstance(key, PlanEnd):
        end_plan(session, plan, by=person.id, now=now)
        return Reply(gettext_for(language, "The return plan for {student} has ended.",
                                 student=label))
    school = session.get(School, student.school_id) if student else None
    calendar = school_calendar(session, school) if school else None
    today = now.astimezone(ZoneInfo(school.timezone)).date() if school else now.date()
    next_day = evaluation_day(calendar.add_school_days(today, 1), calendar) if calendar else (
        today + timedelta(weeks=2))
    extend_plan(session, plan, next_day, by=person.id, now=now)
    return Reply(gettext_for(language, "The return plan for {student} goes on; next "
                                       "evaluation {day}.", student=label,
                             day=format_day(next_day, language).rstrip(".")))


def answer(context: Context) -> Reply:
    """The student's answer to the morning check-in; an answer that needs a grown-up
    reaches the trusted adult at once."""
    session, person, now = context.session, context.person, context.now
    key = context.key(CheckIn)
    answer = key.answer
    check_in = session.get(PlanCheckIn, key.check_in)
    plan = session.get(ReturnPlan, check_in.plan_id) if check_in else None
    student = session.get(Student, plan.student_id) if plan else None
    language = person.language
    if check_in is None or plan is None or student is None or (
            student.person_id != person.id) or answer not in ANSWERS:
        return Reply(gettext_for(language, "That question is no longer open."))
    record_answer(session, check_in, answer, now)
    note_guardians(session, plan, check_in, answer, now)
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    if answer in ALARMING and check_in.alerted_at is None:
        alert(session, plan, check_in, answer, now)
    if answer == COMING:
        return Reply(gettext_for(language, "Great! See you at school."))
    if answer == LATER:
        return Reply(gettext_for(language, "Thanks for telling us. See you when you get "
                                           "there."))
    name = adult.name if adult else ""
    # Translators: to the student; {name}: the trusted adult at school (often the mentor).
    return Reply(gettext_for(language, "Thank you for telling us. {name} will contact you "
                                       "soon.", name=name))


def note_guardians(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, answer: str,
                   now: datetime) -> int:
    """With the plan's guardian note, the guardians of a student under 18 hear how the
    morning check-in went (the answer, or that none came and the school was told)."""
    student = session.get(Student, plan.student_id)
    if not plan.guardian_note or student is None or student.adult:
        return 0
    child = session.get(Person, student.person_id)
    first_name = child.name.split()[0] if child and child.name else ""
    queued = 0
    for guardian in recipients_by_student(session, [student]).get(student.id or 0, []):
        language = guardian.language
        if answer in ANSWERS:
            label = _check_in_labels(language)[answer]
            # Translators: to a guardian of a student on a return plan; {child}: first name;
            # {answer}: the button the student tapped ("I'm coming").
            text = gettext_for(language, "{child} answered this morning's check-in: {answer}.",
                               child=first_name, answer=label)
        else:
            text = gettext_for(language, "{child} has not answered this morning's check-in. "
                                         "The school has been told.", child=first_name)
        queued += enqueue(session, dedupe_key=f"plan-note:{check_in.id}:{guardian.id}:{answer}",
                          recipient_id=guardian.id, channel=AUTO, language=language, now=now,
                          text=text)
    return queued


def check_in_choices(language: str, check_in_id: int) -> list[dict[str, str]]:
    """The morning check-in's four answers."""
    labels = _check_in_labels(language)
    return [Choice(CheckIn(check_in_id, answer), labels[answer]).as_dict()
            for answer in ANSWERS]


def _check_in_labels(language: str) -> dict[str, str]:
    return {COMING: gettext_for(language, "I'm coming"),
            LATER: gettext_for(language, "I'm coming later"),
            HELP: gettext_for(language, "I need help"),
            NOT_TODAY: gettext_for(language, "Not today")}


def alert(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, why: str,
          now: datetime) -> int:
    """Tell the trusted adult at once: the student needs help, stays home, or is silent."""
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    student = session.get(Student, plan.student_id)
    check_in.alerted_at = now
    session.add(check_in)
    if adult is None or student is None:
        return 0
    language, label = adult.language, student_label(session, student)
    task_id, _new = add_task(session, dedupe_key=f"plan-alert:{check_in.id}",
                             school_id=student.school_id, student_id=student.id,
                             assignee=adult, kind="plan_alert", now=now)
    if why == HELP:
        text = gettext_for(language, "{student} needs help this morning (return plan). "
                                     "Please make contact.", student=label)
    elif why == NOT_TODAY:
        text = gettext_for(language, "{student} says they are not coming today (return "
                                     "plan). Please make contact.", student=label)
    else:
        text = gettext_for(language, "{student} has not answered this morning's check-in "
                                     "(return plan). Please make contact.", student=label)
    return enqueue(session, dedupe_key=f"plan-alert:{check_in.id}", recipient_id=adult.id,
                   channel=AUTO, language=language, now=now, text=text,
                   choices=[Choice(TaskDone(task_id), gettext_for(language, "I'll call"))
                            .as_dict()])
