"""A running return plan, changed from the chat: `/plan <name>` on a student who has one shows
it with buttons to change the morning time, the answer deadline, the day's goal, the trusted
adult, the guardians' daily note, to add the mentor's own morning text, to go on or to end.

A setting that needs words (a time, a goal, a text) is asked for and read from the next
message (dialog state `plan_edit`, its step the setting); a tap on another button or
"cancel" leaves it. See `plan_settings.mmd`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from handlers.messages import Choice, Context, Reply
from handlers.student_view import visible_student
from locales import gettext_for
from locales.formats import format_day, format_weekdays
from policy.choices import (
    PlanAdult,
    PlanAsk,
    PlanEnd,
    PlanExtend,
    PlanMenu,
    PlanNoGoal,
    PlanNote,
    PlanSet,
)
from policy.return_plan import MAX_OWN_TEXT, clock_time, valid_deadline
from policy.text import one_line
from services.return_plans import tell_trusted_adult
from storage.conversations import clear_state, set_state
from storage.models import Person, ReturnPlan, School, StaffRole, Student
from storage.people import Roles
from storage.reports import mentors_of
from storage.return_plans import (
    add_encouragement,
    change_plan,
    own_encouragements,
    plan_days,
)
from storage.tasks import student_label

DIALOG = "plan_edit"
#: The buttons that change a running plan: shown, a setting asked for, a value tapped, the
#: goal removed, the trusted adult, the guardians' note switched.
KINDS = (PlanMenu, PlanAsk, PlanSet, PlanNoGoal, PlanAdult, PlanNote)
#: Settings asked for in words.
TIME, ANSWER_BY, GOAL, OWN_TEXT = "time", "answer", "goal", "own"
#: How long a written answer still answers the question asked.
ANSWER_WINDOW = timedelta(hours=1)
#: Roles that can be a student's trusted adult besides their mentors.
ADULT_ROLES = ("counsellor", "nurse", "coordinator", "principal")
MAX_ADULTS = 8


def show(session: Session, person: Person, plan: ReturnPlan, *, said: str = "") -> Reply:
    """The plan as it stands, with a button for each thing that can be changed."""
    language = person.language
    student = session.get(Student, plan.student_id)
    school = session.get(School, student.school_id) if student else None
    if student is None or school is None:
        return Reply(gettext_for(language, "That question is no longer open."))
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    deadline = plan_days(plan, school).answer_by
    own = len(own_encouragements(session, [plan.id or 0]).get(plan.id or 0, []))
    lines = [said] if said else []
    lines += [
        gettext_for(language, "Return plan for {student}", student=student_label(session,
                                                                                  student)),
        gettext_for(language, "Morning message: {time} ({days})",
                    time=f"{plan.morning_time:%H:%M}",
                    days=format_weekdays(plan.weekdays, language)),
        gettext_for(language, "Answer by: {time}", time=f"{deadline:%H:%M}"),
        gettext_for(language, "Evaluation: {day}", day=format_day(
            plan.followup_on or plan.starts_on, language).rstrip(".")),
        gettext_for(language, "Trusted adult: {name}", name=adult.name if adult else "-"),
        gettext_for(language, "Goal: {goal}", goal=plan.goal) if plan.goal
        else gettext_for(language, "Goal: none"),
        gettext_for(language, "Daily note to the guardians: on") if plan.guardian_note
        else gettext_for(language, "Daily note to the guardians: off"),
        gettext_for(language, "Your own morning texts: {count}", count=own),
    ]
    if student.messages_off and not student.adult:
        lines.append(gettext_for(language, "A guardian has asked the school not to message "
                                           "the student: no morning messages are sent."))
    ident = plan.id or 0
    note = (gettext_for(language, "Stop the guardians' note") if plan.guardian_note
            else gettext_for(language, "Daily note to the guardians"))
    return Reply("\n".join(lines), (
        Choice(PlanAsk(ident, TIME), gettext_for(language, "Change the time")),
        Choice(PlanAsk(ident, ANSWER_BY), gettext_for(language, "Answer deadline")),
        Choice(PlanAsk(ident, GOAL), gettext_for(language, "Set the goal")),
        Choice(PlanAsk(ident, OWN_TEXT), gettext_for(language, "Add my own morning text")),
        Choice(PlanAdult(ident), gettext_for(language, "Change the trusted adult")),
        Choice(PlanNote(ident), note),
        Choice(PlanExtend(ident), gettext_for(language, "Go on for 2 more weeks")),
        Choice(PlanEnd(ident), gettext_for(language, "End the plan")),
    ))


def act(context: Context) -> Reply:
    """A tap on one of the plan's buttons."""
    session, person, now, key = context.session, context.person, context.now, context.choice
    language = person.language
    if not isinstance(key, KINDS):
        return Reply(gettext_for(language, "That question is no longer open."))
    plan = own_plan(session, person, context.roles, key.plan)
    if isinstance(plan, Reply):
        return plan
    person_id = person.id or 0
    if isinstance(key, PlanMenu):
        clear_state(session, person_id)
        return show(session, person, plan)
    if isinstance(key, PlanAsk):
        return _ask(session, person, plan, key.setting, now)
    if isinstance(key, PlanSet):
        return _apply(session, person, plan, key.setting, key.value, now)
    clear_state(session, person_id)
    if isinstance(key, PlanNoGoal):
        change_plan(session, plan, by=person.id, now=now, goal=None)
        return show(session, person, plan, said=gettext_for(language, "The goal is removed."))
    if isinstance(key, PlanNote):
        change_plan(session, plan, by=person.id, now=now, guardian_note=not plan.guardian_note)
        said = (gettext_for(language, "The guardians will hear each day how the check-in "
                                      "went.") if plan.guardian_note else
                gettext_for(language, "The guardians' daily note is off."))
        return show(session, person, plan, said=said)
    return _adult(session, person, plan, key.person if isinstance(key, PlanAdult) else None,
                  now)


def write(context: Context) -> Reply:
    """The words asked for (a time, a goal, a morning text) for the plan being changed."""
    session, person = context.session, context.person
    data = context.state.data if context.state else {}
    ident = data.get("plan")
    plan = own_plan(session, person, context.roles, ident if isinstance(ident, int) else 0)
    if isinstance(plan, Reply):
        clear_state(session, person.id or 0)
        return plan
    return _apply(session, person, plan, str(data.get("setting", "")), context.text,
                  context.now)


def own_plan(session: Session, person: Person, roles: Roles, ident: int) -> ReturnPlan | Reply:
    """The active plan `ident` if it is of one of the person's own students; otherwise the
    answer that says so (and nothing about whose it is)."""
    plan = session.get(ReturnPlan, ident) if ident else None
    if plan is None or visible_student(session, person, roles, plan.student_id) is None:
        return Reply(gettext_for(person.language, "This is for school staff."))
    if plan.status != "active":
        student = session.get(Student, plan.student_id)
        return Reply(gettext_for(person.language, "The return plan for {student} has ended.",
                                 student=student_label(session, student) if student else "-"))
    return plan


def _ask(session: Session, person: Person, plan: ReturnPlan, setting: str,
         now: datetime) -> Reply:
    language = person.language
    back = Choice(PlanMenu(plan.id or 0), gettext_for(language, "Back to the plan"))
    if setting not in (TIME, ANSWER_BY, GOAL, OWN_TEXT):
        return show(session, person, plan)
    set_state(session, person.id or 0, dialog=DIALOG, step=setting,
              data={"plan": plan.id, "setting": setting}, now=now)
    if setting == TIME:
        offered = [time(7, 0), time(7, 15), time(7, 30), time(7, 45)]
        return Reply(gettext_for(language, "When should the morning message go? Choose a time "
                                           "or write one, for example 07:30."),
                     (*(Choice(PlanSet(plan.id or 0, TIME, f"{at:%H:%M}"), f"{at:%H:%M}")
                        for at in offered if at != plan.morning_time), back))
    if setting == ANSWER_BY:
        return Reply(gettext_for(language, "By when should the student have answered? Write "
                                           "a time, for example 07:50. After that you hear "
                                           "of it."), (back,))
    if setting == GOAL:
        choices = (Choice(PlanNoGoal(plan.id or 0), gettext_for(language, "No goal")), back) if (
            plan.goal) else (back,)
        return Reply(gettext_for(language, "Write the goal the morning message should say, "
                                           "for example: only the first two lessons."),
                     choices)
    return Reply(gettext_for(language, "Write your own morning text for the student, in a "
                                       "few words. It goes out on one of the next school "
                                       "mornings, then in turn with the others."), (back,))


def _apply(session: Session, person: Person, plan: ReturnPlan, setting: str, value: str,
           now: datetime) -> Reply:
    """Set `setting` to the `value` written or tapped; a value that does not fit is asked
    for again, with why."""
    language = person.language
    value = one_line(value)
    if setting in (TIME, ANSWER_BY):
        at = clock_time(value)
        if at is None:
            return Reply(gettext_for(language, "Write a time like 07:30."))
        if setting == TIME:
            change_plan(session, plan, by=person.id, now=now, morning_time=at)
            said = gettext_for(language, "The morning message now goes at {time}.",
                               time=f"{at:%H:%M}")
        elif not valid_deadline(at, plan.morning_time):
            return Reply(gettext_for(language, "The answer deadline must be after the "
                                               "morning message ({time}) and no later than "
                                               "12:00.", time=f"{plan.morning_time:%H:%M}"))
        else:
            change_plan(session, plan, by=person.id, now=now, answer_by=at)
            said = gettext_for(language, "You hear of it if no answer has come by {time}.",
                               time=f"{at:%H:%M}")
    elif setting in (GOAL, OWN_TEXT):
        if not value:
            return Reply(gettext_for(language, "Write a few words, or choose Back to the plan."))
        if len(value) > MAX_OWN_TEXT:
            return Reply(gettext_for(language, "That is {length} characters; keep it under "
                                               "{limit}.", length=len(value),
                                     limit=MAX_OWN_TEXT))
        if setting == GOAL:
            change_plan(session, plan, by=person.id, now=now, goal=value)
            said = gettext_for(language, "The goal is saved.")
        else:
            add_encouragement(session, plan, value, by=person.id, now=now)
            said = gettext_for(language, "Saved: the student gets your text on one of the "
                                         "next school mornings.")
    else:
        return show(session, person, plan)
    clear_state(session, person.id or 0)
    return show(session, person, plan, said=said)


def _adult(session: Session, person: Person, plan: ReturnPlan, picked: int | None,
           now: datetime) -> Reply:
    language = person.language
    candidates = adult_candidates(session, plan)
    if picked is None:
        return Reply(gettext_for(language, "Who should hear at once when the student needs "
                                           "help or does not answer?"),
                     (*(Choice(PlanAdult(plan.id or 0, adult.id), adult.name)
                        for adult in candidates),
                      Choice(PlanMenu(plan.id or 0), gettext_for(language, "Back to the plan"))))
    adult = next((a for a in candidates if a.id == picked), None)
    if adult is None:
        return show(session, person, plan)
    if change_plan(session, plan, by=person.id, now=now, trusted_adult_id=adult.id):
        tell_trusted_adult(session, plan, adult, now)
    return show(session, person, plan, said=gettext_for(
        language, "{name} is now the trusted adult.", name=adult.name))


def adult_candidates(session: Session, plan: ReturnPlan) -> list[Person]:
    """Who can be the student's trusted adult: their mentors, then the school's counsellors,
    nurses, coordinators and principals."""
    student = session.get(Student, plan.student_id)
    if student is None:
        return []
    found = {p.id: p for p in mentors_of(session, student.id or 0)}
    for role in ADULT_ROLES:
        for staff in session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(StaffRole.school_id == student.school_id, StaffRole.role == role)
            .order_by(col(Person.name))
        ).scalars():
            found.setdefault(staff.id, staff)
    return list(found.values())[:MAX_ADULTS]
