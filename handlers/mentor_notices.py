"""What mentors hear about reports: a late report (with a task), a cancelled report for today,
a second guardian's report that differs from the first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlmodel import Session, col, select

from handlers.messages import Choice, Context, Reply
from locales import gettext_for
from locales.formats import format_days, format_span, speaks
from policy.choices import TaskDone
from policy.reporting import ReportDays
from policy.routing import AUTO
from storage.models import Absence, AbsenceReport, Guardianship, Person, StaffTask, Student
from storage.outbox import MessageKind, enqueue
from storage.reports import mentors_of
from storage.tasks import (
    CALL_PREFIX,
    add_task,
    close_task,
    own_task,
    student_label,
    task_student,
)


def notify_late_report(
    session: Session, *, report: AbsenceReport, student: Student, late_days: list[date],
    now: datetime,
) -> int:
    """Tell the student's mentors that a report came past the deadline, as a task to follow up.

    The message names the student and the days, never the reason or the note.
    """
    label = student_label(session, student)
    sent = 0
    for mentor in mentors_of(session, student.id or 0):
        key = f"late-report:{report.id}:{mentor.id}"
        task_id, _new = add_task(session, dedupe_key=key, school_id=student.school_id,
                                 student_id=student.id, assignee=mentor, kind="late_report",
                                 now=now)
        language = mentor.language
        text = gettext_for(
            language,
            "Late absence report: {student}, {days}. It came after the three-school-day limit,"
            " so it does not count as reported absence. Please follow up with the guardian.",
            student=label, days=format_days(late_days, language),
        )
        done = Choice(TaskDone(task_id), gettext_for(language, "Done"))
        sent += enqueue(session, dedupe_key=key, recipient_id=mentor.id, channel=AUTO,
                        kind=MessageKind.LATE_REPORT, student_id=student.id, task_id=task_id,
                        language=language, text=text, now=now, choices=[done.as_dict()])
    return sent


def notify_differing_report(
    session: Session, *, report: AbsenceReport, student: Student, reporter: Person,
    days: ReportDays, now: datetime,
) -> int:
    """Tell the student's mentors that a second guardian reported the same absence
    differently (`days`: theirs, with the hours) from `report`, which was first and stands:
    the guardians are to be asked. Never either reason."""
    label = student_label(session, student)
    return _report_news(
        session, student, f"report-differs:{report.id}:{reporter.id}:{now.isoformat()}",
        lambda language: gettext_for(
            language,
            # Translators: to a mentor; {days}: the second guardian's days and hours.
            "{guardian} also reported {student}: {days}. That differs from report {ref}, "
            "made first, which stands: please check with the guardians.",
            guardian=reporter.name, student=label, ref=report.reference,
            days=format_span(days.first, days.last, days.part_start, days.part_end,
                             language).rstrip(".")), now)


def notify_cancelled_today(
    session: Session, *, report: AbsenceReport, student: Student, now: datetime
) -> int:
    """Tell the student's mentors that today's reported absence was cancelled by a guardian."""
    label = student_label(session, student)
    return _report_news(
        session, student, f"report-cancelled:{report.id}",
        lambda language: gettext_for(
            language, "{student}: a guardian has cancelled the absence report for today. "
                      "The student is expected at school.", student=label), now)


def _report_news(session: Session, student: Student, key: str, text: Callable[[str], str],
                 now: datetime) -> int:
    """News of a report for each of the student's mentors, in their language (`key`, with
    the mentor's id after it, keeps it to once)."""
    return sum(enqueue(session, dedupe_key=f"{key}:{mentor.id}", kind=MessageKind.REPORT_NEWS,
                       student_id=student.id, recipient_id=mentor.id, channel=AUTO,
                       language=mentor.language, now=now, text=text(mentor.language))
               for mentor in mentors_of(session, student.id or 0))


def done(context: Context) -> Reply:
    """A task's Done button: marked done if it is the person's own."""
    done = mark_task_done(context.session, context.person, context.key(TaskDone).task,
                          now=context.now)
    if done is not None:
        student = task_student(context.session, done)
        if student is not None:  # which one, when a text message's "1" answered the latest
            return Reply(gettext_for(context.language, "Marked as done: {student}. Thank you!",
                                     student=student_label(context.session, student)))
        return Reply(gettext_for(context.language, "Marked as done. Thank you!"))
    return Reply(gettext_for(context.language, "That task is not on your list."))


def mark_task_done(session: Session, person: Person, task_id: int, *, now: datetime
                   ) -> StaffTask | None:
    """Mark the person's own task done; the task, or None if it is not theirs (reveals
    nothing)."""
    task = own_task(session, person, task_id)
    if task is None:
        return None
    if task.status != "done":
        close_task(task, status="done", outcome=task.outcome, now=now)
        session.add(task)
    return task


def notify_guardian_unreachable(session: Session, *, guardian: Person, now: datetime) -> int:
    """Give each mentor of the guardian's children a task: the guardian's SMS do not arrive.

    The mentor gets the guardian's name and number (to call), never anything else.
    """
    sent = 0
    children = session.execute(
        select(Student).join(Guardianship, col(Guardianship.student_id) == Student.id)
        .where(Guardianship.guardian_id == guardian.id)
    ).scalars()
    day = now.date().isoformat()
    for student in children:
        label = student_label(session, student)
        for mentor in mentors_of(session, student.id or 0):
            key = f"sms-unreachable:{guardian.id}:{student.id}:{mentor.id}:{day}"
            task_id, _new = add_task(session, dedupe_key=key, school_id=student.school_id,
                                     student_id=student.id, assignee=mentor,
                                     kind="call_guardian", now=now)
            language = mentor.language
            text = gettext_for(
                language,
                "Could not reach {guardian}, guardian of {student}, by text message. "
                "Please call: {phone}.",
                guardian=guardian.name, student=label, phone=guardian.phone or "-",
            ) + speaks(guardian.language, language)
            done = Choice(TaskDone(task_id), gettext_for(language, "Done"))
            sent += enqueue(session, dedupe_key=key, recipient_id=mentor.id, channel=AUTO,
                            kind=MessageKind.UNREACHABLE, student_id=student.id,
                            task_id=task_id, language=language, text=text, now=now,
                            choices=[done.as_dict()])
    return sent


def notify_notice_answered(
    session: Session, student_ids: list[int], day: date, *, guardian: Person, answer: str,
    now: datetime, words: str | None = None, ref: str = "",
) -> int:
    """Tell the mentors whose call about a student's absence on `day` is still to be made
    that a guardian answered the notice ("known": they know of it; "replied": words that
    report nothing, so the call matters, with those `words` as the guardian wrote them, as
    a worry's: the mentor is to call; `ref`: their message). An absence the answer
    reported needs no call and gets no message."""
    sent = 0
    for student_id in student_ids:
        student = session.get(Student, student_id)
        if student is None or not session.execute(select(Absence.id).where(
                Absence.student_id == student_id, Absence.day == day,
                Absence.state == "unexcused")).first():
            continue
        label = student_label(session, student)
        for mentor in mentors_of(session, student_id):
            call = f"{CALL_PREFIX}{student_id}:{day.isoformat()}:{mentor.id}"
            task = session.execute(select(StaffTask).where(
                StaffTask.dedupe_key == call,
                col(StaffTask.status).in_(["open", "snoozed"]))).scalar_one_or_none()
            if task is None:
                continue
            language = mentor.language
            if answer == "known":
                text = gettext_for(language, "{guardian} answered the notice about {student}: "
                                             "they know of the absence.",
                                   guardian=guardian.name, student=label)
            else:
                text = gettext_for(language, "{guardian} answered the notice about {student} "
                                             "but did not report the absence: please call.",
                                   guardian=guardian.name, student=label)
                if words:
                    text += "\n" + gettext_for(language, "Note: {note}", note=words)
            # each message with words is news of its own
            key = f"{call}:answer:{answer}" + (f":{ref}" if words else "")
            sent += enqueue(session, dedupe_key=key[:200],
                            kind=MessageKind.NOTICE_ANSWER, student_id=student_id, day=day,
                            task_id=task.id,
                            recipient_id=mentor.id, channel=AUTO, language=language,
                            text=text, now=now)
    return sent
