"""A guardian's reports for the coming days, and cancelling one ("she felt better"): a
button, then yes or no (tapped or written). See `my_reports.mmd`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.mentor_notices import notify_cancelled_today
from handlers.messages import Choice, Context, Reply, Reportable
from handlers.schooltime import calendar_for, local_today
from locales import gettext_for
from locales.formats import first_name, format_span, reason_label
from policy.choices import ReportCancel, ReportConfirmCancel, ReportKeep
from policy.freetext import parse_yes_no
from storage.conversations import clear_state, set_state
from storage.models import AbsenceReport, Person, School, Student
from storage.reports import cancel_report, upcoming_reports
from storage.schools import policy_of

COMMAND = "/reports"
DIALOG, CONFIRM = "cancel", "confirm"
MAX_LISTED = 8


def list_reports(context: Context) -> Reply:
    """The open reports for the person's children from today on, each with a cancel button
    (any dialog open is closed).

    Reports by the other guardian are listed too (a child's absence is one
    thing), but only the one who gave a reason sees it again (a reason is health data).
    """
    session, person, students, now = (context.session, context.person, context.students,
                                      context.now)
    clear_state(session, person.id or 0)
    language = person.language
    names = {r.student.id or 0: first_name(r.name) for r in students}
    school = session.get(School, students[0].student.school_id) if students else None
    reports = upcoming_reports(session, names, local_today(school, now, session=session),
                               limit=MAX_LISTED)
    if not reports:
        return Reply(gettext_for(language, "There are no absence reports for the coming days."))
    lines = [gettext_for(language, "Absence reports for the coming days:")]
    choices = []
    for report in reports:
        span = format_span(report.first_day, report.last_day, report.part_start,
                           report.part_end, language)
        reason = (reason_label(report.reason, language) if report.reporter_id == person.id
                  else gettext_for(language, "reported by someone else"))
        lines.append(f"• {report.reference} · {names[report.student_id]} · {span} · {reason}")
        choices.append(Choice(ReportCancel(report.id or 0),
                              gettext_for(language, "Cancel {ref}", ref=report.reference)))
    return Reply("\n".join(lines), tuple(choices))


def _own_report(
    session: Session, students: list[Reportable], report_id: int, now: datetime
) -> AbsenceReport | None:
    """The report, if it is for one of the person's children and still has days to come."""
    report = session.get(AbsenceReport, report_id)
    allowed = {r.student.id for r in students}
    if report is None or report.student_id not in allowed or report.cancelled_at is not None:
        return None
    school = session.get(School, report_student(students, report).school_id)
    return report if report.last_day >= local_today(school, now, session=session) else None


def report_student(students: list[Reportable], report: AbsenceReport) -> Student:
    """The student (among the person's) a report is for."""
    return next(r.student for r in students if r.student.id == report.student_id)


def ask_cancel(context: Context) -> Reply:
    """Ask to confirm cancelling one report."""
    session, person, students, now = (context.session, context.person, context.students,
                                      context.now)
    language = person.language
    report = _own_report(session, students, context.key(ReportCancel).report, now)
    if report is None:
        return Reply(gettext_for(language, "That report cannot be cancelled any more."))
    name = next(first_name(r.name) for r in students if r.student.id == report.student_id)
    set_state(session, person.id or 0, dialog=DIALOG, step=CONFIRM,
              data={"report": report.id}, now=now)
    school = session.get(School, report_student(students, report).school_id)
    # Past days stay reported.
    first = max(report.first_day, local_today(school, now, session=session))
    span = format_span(first, report.last_day, report.part_start, report.part_end, language)
    return Reply(
        gettext_for(language, "Cancel the absence report for {name}, {days}?", name=name,
                    days=span),
        (Choice(ReportConfirmCancel(report.id or 0), gettext_for(language, "Yes, cancel it")),
         Choice(ReportKeep(), gettext_for(language, "No, keep it"))),
    )


def confirm_cancel(context: Context) -> Reply:
    """Yes, cancel it (the button)."""
    report_id = context.key(ReportConfirmCancel).report
    return _cancel(context.session, context.person, context.students, report_id,
                   now=context.now)


def yes_or_no(context: Context) -> Reply | None:
    """Yes or no written to the question; anything else closes it and goes on."""
    said = parse_yes_no(context.text, context.language)
    state = context.state
    report = state.data.get("report") if state is not None else None
    if said is True:
        return _cancel(context.session, context.person, context.students,
                       report if isinstance(report, int) else 0, now=context.now)
    if said is False:
        return keep(context)
    clear_state(context.session, context.person_id)
    context.state = None
    return None


def _cancel(
    session: Session, person: Person, students: list[Reportable], report_id: int, *,
    now: datetime,
) -> Reply:
    """Cancel the report; a cancelled report for today reaches the mentor."""
    language = person.language
    clear_state(session, person.id or 0)
    report = _own_report(session, students, report_id, now)
    if report is None:
        return Reply(gettext_for(language, "That report cannot be cancelled any more."))
    student = report_student(students, report)
    school = session.get(School, student.school_id)
    today = local_today(school, now, session=session)
    began_earlier = report.first_day < today
    covers_today = report.first_day <= today <= report.last_day
    cancel_report(session, report, by=person, now=now, from_day=today)
    calendar = calendar_for(session, school, policy_of(school))
    if covers_today and calendar.is_school_day(today):
        notify_cancelled_today(session, report=report, student=student, now=now)
    if began_earlier:
        return Reply(gettext_for(
            language, "Report {ref} is cancelled from today on; the days before stay reported.",
            ref=report.reference,
        ))
    return Reply(gettext_for(language, "Report {ref} is cancelled.", ref=report.reference))


def keep(context: Context) -> Reply:
    """The guardian changed their mind: nothing is cancelled."""
    clear_state(context.session, context.person_id)
    return Reply(gettext_for(context.language, "OK, the report is kept."))
