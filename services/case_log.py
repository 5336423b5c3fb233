"""A student's case log for the next meeting, as a printable HTML page: concerns raised
(who, signals, notes), cause mappings, return plans, action plans with their measures, and
the staff's tasks and meetings, oldest first within each part.

It holds health-sensitive notes: it is made for staff on the case (the command line), its
making is audited, and every text from people is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_day, signal_names, task_kind
from policy.concerns import heaviest, scale_percent
from services.action_plans import LEVEL_LABELS
from services.cause_mapping import AREA_LABELS
from storage.action_plans import measures_of
from storage.cause_mapping import mappings_of
from storage.concerns import concern_notes
from storage.models import (
    ActionPlan,
    AuditLog,
    Person,
    PlanCheckIn,
    ReturnPlan,
    StaffTask,
    Student,
)
from storage.plan_tasks import plan_words
from storage.schools import school_zone
from storage.tasks import student_label

_STYLE = ("body{font-family:sans-serif;max-width:48em;margin:2em auto;line-height:1.4}"
          "h1{font-size:1.4em}h2{font-size:1.1em;border-bottom:1px solid #999;margin-top:1.5em}"
          "li{margin:.2em 0}@media print{body{margin:0}}")


def case_log_html(session: Session, student: Student, language: str, *, by: str,
                  now: datetime) -> str:
    """The case log of `student` in `language`, as one HTML page (audited as a view)."""
    zone = school_zone(session, student.school_id)
    session.add(AuditLog(at=now, actor=by, action="student.case_log", entity="student",
                         entity_id=str(student.id), student_id=student.id, detail={}))

    def day(instant: datetime) -> str:
        return format_day(instant.astimezone(zone).date(), language)

    def name(person_id: int | None) -> str:
        person = session.get(Person, person_id or 0)
        return person.name if person else "-"

    parts: list[tuple[str, list[str]]] = []
    concerns = []
    for raised in concern_notes(session, student.id or 0):
        said = signal_names(raised.signals, language)
        if raised.note:
            said = f"{said}: {raised.note}" if said else raised.note
        concerns.append(f"{day(raised.at)} {name(raised.raised_by)}: {said}")
    parts.append((gettext_for(language, "Concerns"), concerns))
    mappings = []
    for mapping in reversed(mappings_of(session, student.id or 0)):
        areas = ", ".join(f"{gettext_for(language, AREA_LABELS[a])} "
                          f"{scale_percent(mapping.answers[a])} %"
                          for a in heaviest(mapping.answers))
        mappings.append(f"{day(mapping.finished_at or mapping.created_at)} "
                        f"{name(mapping.respondent_id)}: {areas}")
    parts.append((gettext_for(language, "Cause mappings"), mappings))
    plans = []
    for plan in session.execute(select(ReturnPlan).where(
            ReturnPlan.student_id == student.id).order_by(col(ReturnPlan.id))).scalars():
        answers = [a for a in session.execute(select(PlanCheckIn.answer).where(
            PlanCheckIn.plan_id == plan.id)).scalars()]
        plans.append(gettext_for(
            language, "{first} – {last}: {answered} of {days} morning check-ins answered.",
            first=format_day(plan.starts_on, language),
            last=format_day(plan.ends_on or plan.followup_on or plan.starts_on, language),
            answered=len([a for a in answers if a]), days=len(answers)))
    parts.append((gettext_for(language, "Return plans"), plans))
    actions = []
    for action in session.execute(select(ActionPlan).where(
            ActionPlan.student_id == student.id).order_by(col(ActionPlan.id))).scalars():
        for measure in measures_of(session, action.id or 0):
            level = gettext_for(language, LEVEL_LABELS.get(measure.level, "school"))
            actions.append(f"{format_day(measure.due_on, language)} {name(measure.owner_id)} "
                           f"({level}): {measure.what}")
    parts.append((gettext_for(language, "Action plans"), actions))
    tasks = []
    for task in session.execute(select(StaffTask).where(StaffTask.student_id == student.id)
                                .order_by(col(StaffTask.id))).scalars():
        what = plan_words(session, task) or task_kind(task.kind, language)
        tasks.append(f"{day(task.due_at)} {name(task.assignee_id)}: {what} "
                     f"({task.outcome or task.status})")
    parts.append((gettext_for(language, "Tasks and meetings"), tasks))
    title = gettext_for(language, "Case log: {student}", student=student_label(session, student))
    printed = gettext_for(language, "Printed {day}", day=day(now))
    nothing = gettext_for(language, "Nothing yet.")
    body = [f"<h1>{escape(title)}</h1>", f"<p>{escape(printed)}</p>"]
    for heading, items in parts:
        body.append(f"<h2>{escape(heading)}</h2>")
        if items:
            body.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")
        else:
            body.append(f"<p>{escape(nothing)}</p>")
    return (f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "".join(body) + "</body></html>\n")
