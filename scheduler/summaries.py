"""The mentor's morning summary: the day's reported absences in their class, and who is on
granted leave, in one message.

Category only ("sick"), never the guardian's note (nor a leave application's words: a
student on leave is named, nothing more); one message per mentor and
school day, sent between the plan's summary time and noon (a sweep after
downtime catches up).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from locales import gettext_for
from locales.formats import format_days, reason_label
from policy.routing import AUTO
from scheduler.schools import each_school
from storage.leave import on_leave_by_mentor
from storage.models import Absence, MentorLink, Person, School, SchoolClass, Student
from storage.notices import open_calls
from storage.outbox import MessageKind, enqueue
from storage.reports import active_reports
from storage.tasks import student_label, task_student

#: After this (local time) the morning summary is not worth sending any more; roll call
#: has happened and the day's reports show there.
SUMMARY_UNTIL = time(12, 0)


def send_mentor_summaries(session: Session, now: datetime) -> int:
    """Queue today's summary for every mentor with reported absences, once per day."""
    queued = 0
    for school in each_school(session, now):
        if not school.policy.mentor_summary_time <= school.clock < SUMMARY_UNTIL:
            continue
        if not school.calendar.is_school_day(school.today):
            continue
        queued += _summaries_for(session, school.school, school.today, now)
    return queued


def _summaries_for(session: Session, school: School, today: date, now: datetime) -> int:
    rows = session.execute(
        select(MentorLink.mentor_id, Student, Person.name, SchoolClass.name)
        .join(Absence, col(Absence.student_id) == MentorLink.student_id)
        .join(Student, col(Student.id) == MentorLink.student_id)
        .join(Person, col(Person.id) == Student.person_id)
        .join(SchoolClass, col(SchoolClass.id) == Student.class_id)
        .where(Student.school_id == school.id, Absence.day == today,
               Absence.state == "reported")
        .distinct()
        .order_by(col(SchoolClass.name), col(Person.name))
    ).all()
    by_mentor: dict[int, list[tuple[Student, str, str]]] = defaultdict(list)
    for mentor_id, student, name, class_name in rows:
        by_mentor[mentor_id].append((student, name, class_name))
    carried = _calls_carried(session, school, today)
    leave = on_leave_by_mentor(session, school.id or 0, today)
    queued = 0
    for mentor_id in sorted(set(by_mentor) | set(carried) | set(leave)):
        students = by_mentor.get(mentor_id, [])
        mentor = session.get(Person, mentor_id)
        if mentor is None:
            continue
        language = mentor.language
        lines = []
        if students:
            lines.append(gettext_for(language, "Reported absence today:"))
        for student, name, class_name in students:
            reports = active_reports(session, student.id or 0, today, today)
            report = next((r for r in reports if r.on_time_for(today)), None)
            line = _label(student, name, class_name)
            if report is not None:
                line += f": {reason_label(report.reason, language)}"
                if report.part_start and report.part_end:
                    line += f", {report.part_start:%H:%M}–{report.part_end:%H:%M}"
            lines.append(line)
        if leave.get(mentor_id):
            # Translators: to a mentor, a heading; then one student per line, by name.
            lines += ([""] if lines else []) + [gettext_for(language, "On leave today:")]
            lines += [_label(student, name, class_name)
                      for student, name, class_name in leave[mentor_id]]
        if carried.get(mentor_id):
            lines += ([""] if lines else []) + [gettext_for(language, "Calls home not yet made:")]
            lines += [f"• {label}, {format_days([day], language)}"
                      for label, day in carried[mentor_id]]
        queued += enqueue(
            session, dedupe_key=f"mentor-summary:{school.id}:{mentor_id}:{today.isoformat()}",
            kind=MessageKind.SUMMARY, day=today,
            recipient_id=mentor_id, channel=AUTO, language=language, text="\n".join(lines),
            now=now,
        )
    return queued


def _label(student: Student, name: str, class_name: str) -> str:
    """A student's line: name and class, or the school's id only for a protected identity."""
    return f"• #{student.external_id}" if student.protected else f"• {name} ({class_name})"


def _calls_carried(
    session: Session, school: School, today: date
) -> dict[int, list[tuple[str, date]]]:
    """Per mentor, the calls home from earlier days still not made (the school day ended)."""
    carried: dict[int, list[tuple[str, date]]] = defaultdict(list)
    # the roll call's calls (a plan's calls come in the staff digest)
    for task, day in open_calls(session, school_id=school.id or 0):
        student = task_student(session, task)
        if day < today and student is not None:
            carried[task.assignee_id].append((student_label(session, student), day))
    return carried
