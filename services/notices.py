"""Same-day notices and what follows them, as messages: the guardians' notice, the mentor's
prompt to call home (and its reminder), the guard's question, a correction, a call that is
off, a class's missing roll call. The sweeps in scheduler/ decide when; these say what, in
each recipient's language, and queue it.

No text repeats a reason; staff see a student as "Name (class)" ("#id" when protected).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from sqlmodel import Session

from locales import gettext_for
from locales.formats import format_days, speaks
from policy.notices import NoticeRules
from policy.routing import AUTO
from storage.attendance import NOTICE_KEY, NOTICE_PREFIX, forget_notice_about, notice_answers
from storage.audit import audit_closed, audit_unexcused
from storage.models import Absence, Person, School, SchoolClass, StaffTask, Student
from storage.notices import (
    await_notice_answers,
    call_prompts,
    guard_key,
    open_calls,
    told_guardians,
)
from storage.outbox import MessageKind, about, enqueue, enqueue_many
from storage.reports import mentors_by_student, recipients_by_student
from storage.tasks import (
    CALL_PREFIX,
    GUARD_CANCEL,
    GUARD_SEND,
    TASK_NOT_NEEDED,
    TASK_REACHED,
    TASK_RETRY,
    add_task,
    add_tasks,
    student_label,
)

log = logging.getLogger(__name__)


@dataclass
class Due:
    """One student's absences at one school on one day that are past their cutoff."""

    student: Student
    absences: list[Absence] = field(default_factory=list)

    @property
    def absent(self) -> bool:
        """Whether any is an absence (late arrivals count for the ladder but are not news
        to send home)."""
        return any(absence.kind == "absent" for absence in self.absences)

    def mark_unexcused(self, session: Session, now: datetime, *, notified: bool = False) -> None:
        """Every absence of the day is unexcused (audited); `notified`: the guardians are
        told of the absences (not of the late arrivals)."""
        for absence in self.absences:
            absence.state, absence.updated_at = "unexcused", now
            audit_unexcused(session, absence, now)
            if notified and absence.kind == "absent":
                absence.notified_at = absence.notified_at or now


def notice_text(language: str, child: str, lesson: time | None, *, adult: bool) -> str:
    """What the notice says happened: the whole day, or a lesson (never anything else)."""
    if lesson is None:
        if adult:
            return gettext_for(language, "You are not at school today, and we have no report "
                                         "of absence.")
        # Translators: the same-day notice to a guardian (an SMS: keep it short). {child}:
        # the child's first name. Never add a reason.
        return gettext_for(language, "{child} is not at school today, and we have no report "
                                     "of absence.", child=child)
    if adult:
        return gettext_for(language, "You were not in the lesson at {time} today, and we have "
                                     "no report of absence.", time=f"{lesson:%H:%M}")
    # Translators: the same-day notice for one lesson; {time}: its start, such as 08:15.
    return gettext_for(language, "{child} was not in the lesson at {time} today, and we have "
                                 "no report of absence.", child=child, time=f"{lesson:%H:%M}")


def tell_guardians(session: Session, school: School, tell: list[Due], today: date,
                   names: dict[int, tuple[str, str]], recipients: dict[int, list[Person]],
                   now: datetime) -> int:
    """Each student's guardians (an adult student: the student) get one notice today; their
    next words answer it. Returns how many were queued."""
    messages: list[dict[str, Any]] = []
    asked: dict[int, dict[str, Any]] = {}
    for item in tell:
        student = item.student
        lessons = sorted(a.lesson_start for a in item.absences
                         if a.kind == "absent" and a.lesson_start is not None)
        whole_day = any(a.kind == "absent" and a.lesson_start is None for a in item.absences)
        for person in recipients.get(student.id or 0, []):
            language = person.language
            text = notice_text(language, names.get(student.id or 0, ("", ""))[0],
                               None if whole_day or not lessons else lessons[0],
                               adult=student.adult)
            text += " " + gettext_for(language, "If you know why, reply to this message.")
            if school.phone and not student.protected:  # protected: nothing of the school
                text += " " + gettext_for(language, "School: {phone}", phone=school.phone)
            messages.append({
                **about(MessageKind.NOTICE, student_id=student.id, day=today),
                "dedupe_key": f"{NOTICE_PREFIX}{student.id}:{today.isoformat()}:{person.id}",
                "recipient_id": person.id, "channel": AUTO, "language": language,
                "text": text, "choices": [{"key": f"{NOTICE_KEY}{student.id}:{today.isoformat()}",
                                           "label": gettext_for(language, "Give the reason")}],
            })
            asked.setdefault(person.id or 0, {"students": [], "day": today.isoformat()})[
                "students"].append(student.id)
    queued = len(enqueue_many(session, messages, now=now))
    await_notice_answers(session, asked, now)
    return queued


def prompt_mentors(
    session: Session, students: list[Student], day: date, today: date, rules: NoticeRules,
    now: datetime, *, told: bool, names: dict[int, tuple[str, str]],
    recipients: dict[int, list[Person]],
) -> int:
    """One call home per student, day and mentor (a task), and its prompt with the outcome
    as buttons; `told`: the guardians got the notice today."""
    mentors = mentors_by_student(session, [s.id or 0 for s in students])
    tasks: list[dict[str, Any]] = []
    for student in students:
        for mentor in mentors.get(student.id or 0, []):
            tasks.append({
                "dedupe_key": f"{CALL_PREFIX}{student.id}:{day.isoformat()}:{mentor.id}",
                "school_id": student.school_id, "student_id": student.id,
                "assignee_id": mentor.id, "kind": "call_home",
            })
    new = add_tasks(session, tasks, now=now)
    messages: list[dict[str, Any]] = []
    for student in students:
        label = names.get(student.id or 0, ("", f"#{student.id}"))[1]
        guardians = [p for p in recipients.get(student.id or 0, []) if p.phone]
        for mentor in mentors.get(student.id or 0, []):
            key = f"{CALL_PREFIX}{student.id}:{day.isoformat()}:{mentor.id}"
            if key not in new:
                continue
            messages.append({
                **about(MessageKind.CALL_PROMPT, student_id=student.id, day=day,
                        task_id=new[key]),
                "dedupe_key": key, "recipient_id": mentor.id, "channel": AUTO,
                "language": mentor.language,
                "text": call_prompt(mentor.language, label, guardians, day, today, told),
                "choices": call_choices(mentor.language, new[key], rules),
            })
    return len(enqueue_many(session, messages, now=now))


def call_prompt(
    language: str, label: str, guardians: list[Person], day: date, today: date, told: bool
) -> str:
    """The mentor's prompt to call home (the guardians' names and numbers, nothing else)."""
    # Translators: to a mentor. {student}: "Name (class)"; {day}: a formatted date.
    if told:
        text = gettext_for(language, "Call home today: {student} is absent without a report.",
                           student=label)
    else:
        text = gettext_for(
            language,
            "{student} was absent without a report on {day}. The guardians could not be told "
            "the same day: please call them.",
            student=label, day=format_days([day], language).rstrip("."),
        )
    if guardians:
        text += "\n" + "\n".join(f"{g.name}: {g.phone}{speaks(g.language, language)}"
                                  for g in guardians)
    return text


def call_choices(language: str, task_id: int, rules: NoticeRules) -> list[dict[str, str]]:
    """The three outcomes of a call, as buttons."""
    hours = rules.call_retry_minutes // 60
    retry = (gettext_for(language, "No answer – remind me in {hours} h", hours=hours)
             if hours * 60 == rules.call_retry_minutes else
             gettext_for(language, "No answer – remind me in {minutes} min",
                         minutes=rules.call_retry_minutes))
    return [
        {"key": f"{TASK_REACHED}{task_id}", "label": gettext_for(language, "Reached guardian")},
        {"key": f"{TASK_RETRY}{task_id}", "label": retry},
        {"key": f"{TASK_NOT_NEEDED}{task_id}", "label": gettext_for(language, "Not needed")},
    ]


def remind_call(session: Session, task: StaffTask, student: Student, mentor: Person,
                day: date, today: date, zone: tzinfo, rules: NoticeRules, *,
                snoozed_until: datetime, now: datetime) -> int:
    """A call that got no answer comes back as a prompt, with whether the guardians answered
    the day's notice."""
    label = student_label(session, student)
    guardians = [p for p in recipients_by_student(session, [student]).get(student.id or 0, [])
                 if p.phone]
    return int(enqueue(
        session, dedupe_key=f"{task.dedupe_key}:again:{snoozed_until.isoformat()}"[:200],
        kind=MessageKind.CALL_PROMPT, student_id=student.id, day=day, task_id=task.id,
        recipient_id=mentor.id, channel=AUTO, language=mentor.language, now=now,
        text=call_prompt(mentor.language, label, guardians, day, today, day == today)
        + _answered(session, student, day, mentor.language, zone),
        choices=call_choices(mentor.language, task.id or 0, rules)))


def _answered(session: Session, student: Student, day: date, language: str,
              zone: tzinfo) -> str:
    """Whether the guardians answered the day's notice, for the mentor's prompt."""
    answered = notice_answers(session, student.id or 0, day, day).get(day)
    if answered is None:
        return ""
    if answered[0] is None:
        return "\n" + gettext_for(language, "notice not answered")
    return "\n" + gettext_for(language, "notice answered at {time}",
                               time=f"{answered[0].astimezone(zone):%H:%M}")


def ask_guard(session: Session, school: School, scope: str, label: str, day: date,
              would: int, size: int, staff: list[Person], now: datetime) -> None:
    """Ask each of `staff` once whether to send a held burst of notices (a task with Send /
    Do not send)."""
    for person in staff:
        key = guard_key(scope, day, person.id)
        task_id, new = add_task(session, dedupe_key=key, school_id=school.id or 0,
                                student_id=None, assignee=person, kind="confirm_notices",
                                now=now)
        if not new:
            continue
        language = person.language
        # Translators: to a principal. {group}: a class or school; {count} of {size} students.
        text = gettext_for(
            language,
            "Roll call for {group} would tell the guardians of {count} of {size} students "
            "that their child is absent without a report. That many may be a mistake, so "
            "nothing has been sent. Send the notices?",
            group=label, count=would, size=size,
        )
        choices = [
            {"key": f"{GUARD_SEND}{task_id}", "label": gettext_for(language, "Send them")},
            {"key": f"{GUARD_CANCEL}{task_id}", "label": gettext_for(language, "Do not send")},
        ]
        enqueue(session, dedupe_key=key, kind=MessageKind.GUARD, day=day, task_id=task_id,
                recipient_id=person.id, channel=AUTO, language=language, text=text, now=now,
                choices=choices)
        log.info("notices held for %s on %s: %s of %s", scope, day, would, size)


def correct_notice(session: Session, student: Student, day: date, now: datetime) -> int:
    """A correction to each guardian whose notice went out (one never sent needs none)."""
    child = session.get(Person, student.person_id)
    name = child.name.split()[0] if child and child.name else ""
    queued = 0
    for person in told_guardians(session, student.id or 0, day):
        language = person.language
        text = (gettext_for(language, "Correction: you are registered as present at school "
                                      "today after all. Please ignore our earlier message.")
                if student.adult else
                gettext_for(language, "Correction: {child} is registered as present at school "
                                      "today after all. Please ignore our earlier message, and "
                                      "sorry for the trouble.", child=name))
        queued += enqueue(
            session, dedupe_key=f"notice-correction:{student.id}:{day.isoformat()}:{person.id}",
            kind=MessageKind.CORRECTION, student_id=student.id, day=day,
            recipient_id=person.id, channel=AUTO, language=language, text=text, now=now)
        forget_notice_about(session, person.id or 0, student.id or 0)
    return queued


def close_calls(session: Session, student: Student, day: date, outcome: str,
                now: datetime) -> None:
    """The mentor's call about this absence is no longer needed (and not carried over); a
    mentor who was prompted hears why, and the prompt's buttons close."""
    for task, _day in open_calls(session, student_id=student.id or 0, day=day):
        task.status, task.outcome, task.done_at, task.remind_at = (
            "not_needed", outcome, now, None)
        audit_closed(session, task, now)
        _tell_call_off(session, task, student, day, outcome, now)


def _tell_call_off(session: Session, task: StaffTask, student: Student, day: date,
                   outcome: str, now: datetime) -> None:
    """Tell the mentor a call they were prompted for is off, closing the prompts' buttons
    (the attachment names them: the web chat greys them, Telegram removes them)."""
    prompts = call_prompts(session, task)
    mentor = session.get(Person, task.assignee_id)
    if not prompts or mentor is None:
        return  # never prompted: the prompt still waiting is withdrawn when it is due
    label = student_label(session, student)
    text = (gettext_for(mentor.language, "No need to call about {student}: the guardian has "
                                         "reported the absence.", student=label)
            if outcome == "reported" else
            gettext_for(mentor.language, "No need to call about {student}: roll call was "
                                         "corrected, the absence is off.", student=label))
    # Not under the call's own key: the dispatcher withdraws those once the call is off.
    off_key = "call-off:" + task.dedupe_key.removeprefix(CALL_PREFIX)
    enqueue(session, dedupe_key=off_key[:200], kind=MessageKind.CALL_OFF,
            student_id=student.id, day=day, task_id=task.id, recipient_id=mentor.id,
            channel=AUTO, language=mentor.language, text=text, now=now,
            attachment={"closes": [{"id": ident, "ref": ref} for ident, ref in prompts]})


def remind_roll_call(session: Session, klass: SchoolClass, mentor: Person, today: date,
                     now: datetime) -> int:
    """A class's mentor hears that its roll call is not taken yet today."""
    language = mentor.language
    return int(enqueue(
        session, dedupe_key=f"roll-reminder:{klass.id}:{today.isoformat()}:{mentor.id}",
        kind=MessageKind.ROLL_REMINDER, day=today, recipient_id=mentor.id, channel=AUTO,
        language=language, now=now,
        text=gettext_for(language, "No roll call for {group} today yet. Please take it "
                                   "(/roll).", group=klass.name)))
