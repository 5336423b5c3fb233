"""`/actionplan <name>`: after the meeting, the mentor writes the measures agreed, one per
line — "Eva: follows Elin to the bus, 7/12" — and saves them. Each measure's owner is
reminded on its day (staff as a task with Done, guardians and the student kindly); after two
weeks of school the mentor evaluates the plan with the attendance before and during it:
working closes the concern, not working lets the plan's ladder go on (Lyngen's step 3).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.messages import Choice, Context, Reply
from handlers.student_view import named_student, visible_student
from locales import gettext_for, ngettext_for
from locales.formats import format_day
from policy.action_plans import EVALUATE_AFTER_SCHOOL_DAYS, MAX_WHAT, split_line
from policy.choices import ActionPlanNotWorking, ActionPlanSave, ActionPlanWorking, Cancel
from policy.dayparse import parse_days
from policy.freetext import match_child
from policy.text import one_line
from services.action_plans import LEVEL_LABELS, owners_of
from storage.action_plans import NewMeasure, judge_plan, record_plan
from storage.concerns import close_concern
from storage.conversations import clear_state, get_state, set_state
from storage.models import ActionPlan, Person, School, Student
from storage.plan_tasks import due_at
from storage.schools import school_calendar
from storage.tasks import student_label

COMMAND = "/actionplan"
DIALOG = "action_plan"
MEASURES = "measures"
#: The plan's buttons: save the plan written; the evaluation's answers.
KINDS = (ActionPlanSave, ActionPlanWorking, ActionPlanNotWorking)
#: How far ahead a measure can be due.
MAX_AHEAD = timedelta(days=120)


def start(context: Context) -> Reply:
    """`/actionplan <name>`: start writing the plan for one of the person's own students."""
    session, person, roles, text, now = (context.session, context.person, context.roles,
                                         context.text, context.now)
    clear_state(session, person.id or 0)
    language = person.language
    student = named_student(session, person, roles, text, gettext_for(
        language, "Write /actionplan and a name, for example /actionplan Ali."))
    if isinstance(student, Reply):
        return student
    set_state(session, person.id or 0, dialog=DIALOG, step=MEASURES,
              data={"student": student.id, "measures": []}, now=now)
    return Reply(gettext_for(
        language,
        # Translators: to the mentor; keep the example's shape "who: what, by when".
        "Write the measures for {student}, one per line: who, what, by when. For example:\n"
        "Eva: follows her to the bus, 7/12\nAnna: talks with her every Monday, 14/12",
        student=student_label(session, student)), (Choice(Cancel(), gettext_for(language,
                                                                                "Cancel")),))


def write(context: Context) -> Reply:
    """Lines of measures written: each understood one is added; the others are named."""
    session, person, text, now = context.session, context.person, context.text, context.now
    language = person.language
    state = context.state
    data = dict(state.data) if state else {}
    student = session.get(Student, int(data.get("student", 0)))
    school = session.get(School, student.school_id) if student else None
    if student is None or school is None:
        clear_state(session, person.id or 0)
        return Reply(gettext_for(language, "That question is no longer open."))
    today = now.astimezone(ZoneInfo(school.timezone)).date()
    people = owners_of(session, student)
    measures = list(data.get("measures", []))
    problems = []
    for number, line in enumerate([ln for ln in text.splitlines() if ln.strip()], 1):
        parts = split_line(one_line(line))
        index = match_child(parts.who, [p.name for p, _level in people], by_name_only=True) \
            if parts else None
        span = parse_days(parts.when, language, today) if parts and parts.when else None
        if parts is None or index is None:
            problems.append(gettext_for(language, "Line {number}: who does it? Start with a "
                                                  "name and a colon.", number=number))
        elif span is None or not today <= span.last <= today + MAX_AHEAD:
            problems.append(gettext_for(language, "Line {number}: by when? End with a date, "
                                                  "for example 7/12.", number=number))
        elif not parts.what or len(parts.what) > MAX_WHAT:
            problems.append(gettext_for(language, "Line {number}: what is to be done? In a "
                                                  "few words.", number=number))
        else:
            owner, level = people[index]
            measures.append({"owner": owner.id, "level": level, "what": parts.what,
                             "due": span.last.isoformat()})
    data["measures"] = measures
    set_state(session, person.id or 0, dialog=DIALOG, step=MEASURES, data=data, now=now)
    lines = [_line(session, m, language) for m in measures] + problems
    choices = [Choice(Cancel(), gettext_for(language, "Cancel"))]
    if measures:
        choices.insert(0, Choice(ActionPlanSave(), gettext_for(language, "Save the plan")))
        lines.append(gettext_for(language, "Write more lines, or save the plan."))
    return Reply("\n".join(lines), tuple(choices))


def act(context: Context) -> Reply:
    """Save the plan written, or the evaluation's answer."""
    session, person, roles, now, key = (context.session, context.person, context.roles,
                                        context.now, context.choice)
    language = person.language
    if not isinstance(key, ActionPlanWorking | ActionPlanNotWorking):
        return _save(session, person, now)
    plan = session.get(ActionPlan, key.plan)
    if plan is None or visible_student(session, person, roles, plan.student_id) is None:
        return Reply(gettext_for(language, "This is for school staff."))
    student = session.get(Student, plan.student_id)
    label = student_label(session, student) if student else "-"
    working = isinstance(key, ActionPlanWorking)
    judge_plan(session, plan, working, by=person.id, now=now)
    if working:
        close_concern(session, plan.student_id, by=person.id, now=now)
        return Reply(gettext_for(language, "Noted: the plan for {student} works. The concern "
                                           "is closed.", student=label))
    return Reply(gettext_for(language, "Noted: the plan for {student} does not work yet. The "
                                       "plan's next step follows.", student=label))


def _save(session: Session, person: Person, now: datetime) -> Reply:
    language = person.language
    state = get_state(session, person.id or 0)
    data = state.data if state is not None and state.dialog == DIALOG else {}
    student = session.get(Student, int(data.get("student", 0)))
    school = session.get(School, student.school_id) if student else None
    measures = list(data.get("measures", []))
    clear_state(session, person.id or 0)
    if student is None or school is None or not measures:
        return Reply(gettext_for(language, "That question is no longer open."))
    zone = ZoneInfo(school.timezone)
    calendar = school_calendar(session, school)
    today = now.astimezone(zone).date()
    evaluate = calendar.add_school_days(today, EVALUATE_AFTER_SCHOOL_DAYS)
    owners = {p.id: p for p, _level in owners_of(session, student)}
    new = [NewMeasure(m["level"], m["what"], owners[m["owner"]], date.fromisoformat(m["due"]))
           for m in measures if m["owner"] in owners]
    record_plan(session, student, new, by=person.id, starts_on=today, evaluate_on=evaluate,
                due_at={m.due_on: due_at(m.due_on, zone) for m in new}, now=now)
    return Reply(ngettext_for(
        language, "The action plan for {student} is saved: {count} measure, evaluation {day}. "
                  "Its owner is reminded on the day.",
        "The action plan for {student} is saved: {count} measures, evaluation {day}. Each "
        "owner is reminded on the day.", len(new), student=student_label(session, student),
        count=len(new), day=format_day(evaluate, language).rstrip(".")))


def _line(session: Session, measure: dict[str, object], language: str) -> str:
    owner = session.get(Person, int(str(measure["owner"])))
    level = gettext_for(language, LEVEL_LABELS.get(str(measure["level"]), "school"))
    day = format_day(date.fromisoformat(str(measure["due"])), language).rstrip(".")
    return f"• {owner.name if owner else '-'} ({level}): {measure['what']} – {day}"
