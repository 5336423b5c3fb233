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
from handlers.conversation import is_pleasantry
from handlers.messages import Choice, Context, Reply
from handlers.schooltime import local_today
from handlers.student_view import own_student
from locales import gettext_for
from locales.formats import format_day
from policy.choices import CheckIn, PlanEnd, PlanExtend, PlanMenu
from policy.freetext import parse_reason
from policy.return_plan import (
    ALARMING,
    ANSWERS,
    COMING,
    HELP,
    LATER,
    NOT_TODAY,
    clock_time,
    evaluation_day,
    typed_answer,
)
from policy.text import one_line
from services.return_plans import (
    alert,
    announce,
    check_in_labels,
    note_guardians,
    pass_words,
    unreachable_because,
)
from storage.audit import audit
from storage.conversations import clear_state
from storage.models import Person, PlanCheckIn, ReturnPlan, School, Student
from storage.return_plans import (
    active_plan,
    change_plan,
    check_in_of,
    end_plan,
    extend_plan,
    record_answer,
    start_plan,
)
from storage.schools import school_calendar
from storage.tasks import student_label

COMMAND = "/plan"
MORNING_TIME = time(7, 15)
#: The longest of a student's words passed on to the trusted adult.
MAX_WORDS = 500


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
    announce(session, plan, now)
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
    check_in = session.get(PlanCheckIn, key.check_in)
    plan = session.get(ReturnPlan, check_in.plan_id) if check_in else None
    student = session.get(Student, plan.student_id) if plan else None
    if check_in is None or plan is None or student is None or (
            student.person_id != person.id) or key.answer not in ANSWERS:
        return Reply(gettext_for(person.language, "That question is no longer open."))
    return _take(session, person, plan, check_in, key.answer, now)


def writes_to_check_in(context: Context) -> bool:
    """Whether a student's words belong to the day's check-in: their plan's morning message
    went out today. A greeting or thanks goes its usual way, and so does an absence report
    from a student who reports their own (an adult)."""
    text = context.text
    if context.roles.student is None or not text or is_pleasantry(text):
        return False
    if context.students and parse_reason(text) is not None:
        return False
    return _todays_check_in(context) is not None


def answer_in_words(context: Context) -> Reply:
    """The student's own words to the day's check-in. A button's label or number is that
    answer. Other words before an answer are "I need help" ("Not today" when they give a
    reason such as sick), and after one they are passed on: either way the trusted adult
    has them at once, as written (a student may say more than four buttons can)."""
    session, person, now = context.session, context.person, context.now
    found = _todays_check_in(context)
    if found is None:
        return Reply(gettext_for(person.language, "That question is no longer open."))
    check_in, plan = found
    words = one_line(context.text)[:MAX_WORDS]
    typed = typed_answer(words, check_in_labels(person.language))
    if typed is not None:
        return _take(session, person, plan, check_in, typed, now)
    if check_in.answer is None:
        said = NOT_TODAY if parse_reason(words) is not None else HELP
        return _take(session, person, plan, check_in, said, now, words, context.incoming.ref)
    pass_words(session, plan, check_in, words, context.incoming.ref, now)
    return _contact_soon(session, person, plan)


def _todays_check_in(context: Context) -> tuple[PlanCheckIn, ReturnPlan] | None:
    student = context.roles.student
    if student is None:
        return None
    school = context.session.get(School, student.school_id)
    return check_in_of(context.session, student.id or 0,
                       local_today(school, context.now, session=context.session))


def _take(session: Session, person: Person, plan: ReturnPlan, check_in: PlanCheckIn,
          answer: str, now: datetime, words: str | None = None, ref: str = "") -> Reply:
    """Record the answer (with the student's `words`, if written, from message `ref`); the
    guardians hear it if the plan says so, the trusted adult at once if it needs a
    grown-up (and the words, even when silence already reached them)."""
    language = person.language
    record_answer(session, check_in, answer, now)
    note_guardians(session, plan, check_in, answer, now)
    if answer in ALARMING and check_in.alerted_at is None:
        alert(session, plan, check_in, answer, now, words)
    elif words:
        pass_words(session, plan, check_in, words, ref, now)
    if answer == COMING:
        return Reply(gettext_for(language, "Great! See you at school."))
    if answer == LATER:
        return Reply(gettext_for(language, "Thanks for telling us. See you when you get "
                                           "there."))
    return _contact_soon(session, person, plan)


def _contact_soon(session: Session, person: Person, plan: ReturnPlan) -> Reply:
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    # Translators: to the student; {name}: the trusted adult at school (often the mentor).
    return Reply(gettext_for(person.language, "Thank you for telling us. {name} will contact "
                                              "you soon.", name=adult.name if adult else ""))




