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

from handlers.messages import Choice, Reply
from handlers.report_dialog import CANCEL
from handlers.student_view import named_student, visible_student
from locales import gettext_for, ngettext_for
from locales.formats import format_day
from policy.action_plans import EVALUATE_AFTER_SCHOOL_DAYS, MAX_WHAT, split_line
from policy.dayparse import parse_days
from policy.freetext import match_child
from policy.text import one_line
from services.action_plans import LEVEL_LABELS, NOT_WORKING, WORKING, owners_of
from storage.action_plans import NewMeasure, judge_plan, record_plan
from storage.concerns import close_concern
from storage.conversations import clear_state, get_state, in_dialog, set_state
from storage.models import ActionPlan, Person, School, Student
from storage.people import Roles
from storage.plan_tasks import due_at
from storage.schools import school_calendar
from storage.tasks import student_label

COMMAND = "/actionplan"
DIALOG = "action_plan"
#: Choice key: save the plan written (the evaluation's answers: services.action_plans).
SAVE = "aplan:save"
#: How far ahead a measure can be due.
MAX_AHEAD = timedelta(days=120)


def owns(choice: str | None) -> bool:
    """Whether a tapped choice belongs to an action plan."""
    return choice is not None and choice.startswith("aplan:")


def claims(session: Session, person_id: int, choice: str | None, command: str) -> bool:
    """Whether the person is writing the measures of a plan."""
    return not choice and not command and in_dialog(session, person_id, DIALOG)


def handle(session: Session, person: Person, roles: Roles, text: str, *,
           now: datetime) -> Reply:
    """`/actionplan <name>`: start writing the plan for one of the person's own students."""
    language = person.language
    student = named_student(session, person, roles, text, gettext_for(
        language, "Write /actionplan and a name, for example /actionplan Ali."))
    if isinstance(student, Reply):
        return student
    set_state(session, person.id or 0, dialog=DIALOG, step="measures",
              data={"student": student.id, "measures": []}, now=now)
    return Reply(gettext_for(
        language,
        # Translators: to the mentor; keep the example's shape "who: what, by when".
        "Write the measures for {student}, one per line: who, what, by when. For example:\n"
        "Eva: follows her to the bus, 7/12\nAnna: talks with her every Monday, 14/12",
        student=student_label(session, student)), (Choice(CANCEL, gettext_for(language,
                                                                              "Cancel")),))


def write(session: Session, person: Person, roles: Roles, text: str, *,
          now: datetime) -> Reply:
    """Lines of measures written: each understood one is added; the others are named."""
    language = person.language
    state = get_state(session, person.id or 0)
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
    set_state(session, person.id or 0, dialog=DIALOG, step="measures", data=data, now=now)
    lines = [_line(session, m, language) for m in measures] + problems
    choices = [Choice(CANCEL, gettext_for(language, "Cancel"))]
    if measures:
        choices.insert(0, Choice(SAVE, gettext_for(language, "Save the plan")))
        lines.append(gettext_for(language, "Write more lines, or save the plan."))
    return Reply("\n".join(lines), tuple(choices))


def act(session: Session, person: Person, roles: Roles, choice: str, *,
        now: datetime) -> Reply:
    """Save the plan written, or the evaluation's answer."""
    language = person.language
    if choice == SAVE:
        return _save(session, person, now)
    ident = choice.removeprefix(WORKING).removeprefix(NOT_WORKING)
    plan = session.get(ActionPlan, int(ident)) if ident.isdecimal() else None
    if plan is None or visible_student(session, person, roles, plan.student_id) is None:
        return Reply(gettext_for(language, "This is for school staff."))
    student = session.get(Student, plan.student_id)
    label = student_label(session, student) if student else "-"
    working = choice.startswith(WORKING)
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
