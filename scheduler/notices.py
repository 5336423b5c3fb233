"""Same-day notices: at the roll-call cutoff an absence without a report becomes unexcused.

Each sweep, for every school: open absences whose cutoff has passed are read
against the reports once more; those still without one become unexcused, the
guardians get one notice per student and day (adult students: the student),
and the mentors one prompt to call home. A burst that would tell more than a
set share of a class or school is held for the coordinator or principal to
confirm. Quiet hours hold notices; a notice that could not go out the same day
is never sent later, and the mentor is told instead.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from locales import gettext_for
from locales.formats import format_days, speaks
from policy.calendar import SchoolCalendar
from policy.notices import NoticeRules, cutoff, is_quiet, too_many
from policy.routing import AUTO
from storage.attendance import (
    NOTICE_DIALOG,
    NOTICE_KEY,
    NOTICE_PREFIX,
    forget_notice_about,
    notice_answers,
    settle_old_absences,
)
from storage.audit import audit_closed, audit_unexcused
from storage.db import chunks
from storage.leave import leave_parts, on_leave
from storage.models import (
    Absence,
    ConversationState,
    MentorLink,
    OutboxMessage,
    Person,
    RollCall,
    School,
    SchoolClass,
    StaffRole,
    StaffTask,
    Student,
)
from storage.outbox import enqueue, enqueue_many
from storage.reports import (
    mentors_by_student,
    recipients_by_student,
    report_excuses,
    reports_for_day,
)
from storage.schools import notice_rules, school_calendar
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
#: How far back an absence still open is looked at (a sweep after a long downtime).
LOOKBACK = timedelta(days=14)
#: Only absences this recent make the mentor a prompt when no notice could go out.
LATE_PROMPT_DAYS = 3


@dataclass
class _Due:
    """One student's absences at one school on one day that are past their cutoff."""

    student: Student
    absences: list[Absence] = field(default_factory=list)


def send_absence_notices(session: Session, now: datetime) -> int:
    """Decide every absence whose cutoff has passed; returns how many messages were queued."""
    queued = 0
    for school in session.execute(select(School)).scalars():
        queued += _school(session, school, now)
    return queued


def _school(session: Session, school: School, now: datetime) -> int:
    rules = notice_rules(school)
    local = now.astimezone(ZoneInfo(school.timezone)).replace(tzinfo=None)
    today = local.date()
    settle_old_absences(session, school.id or 0, today - LOOKBACK, now)
    if is_quiet(local.time(), rules):
        return 0  # nothing is decided at night: the first sweep after the quiet hours does it
    # Locked until the decision commits (PostgreSQL): a correction or a report committed
    # meanwhile waits, then wins; one committed before is seen (the row is no longer open).
    rows = session.execute(
        select(Absence, Student)
        .join(Student, Student.id == Absence.student_id)
        .where(Student.school_id == school.id, Absence.state == "open",
               Absence.day <= today, Absence.day >= today - LOOKBACK)
        .order_by(Absence.day, Absence.student_id, Absence.slot)
        .with_for_update(of=Absence)
    ).all()
    calendar = school_calendar(session, school)
    past = [(absence, student) for absence, student in rows
            if cutoff(absence.day, absence.lesson_start, rules) <= local
            and _school_day(calendar, absence.day)]
    if not past:
        return 0
    reports = {day: reports_for_day(session, {s.id or 0 for a, s in past if a.day == day}, day)
               for day in {absence.day for absence, _ in past}}
    due: dict[tuple[date, int], _Due] = {}
    leave = leave_parts(session, {s.id or 0 for _a, s in past}, {a.day for a, _s in past})
    for absence, student in past:
        if on_leave(leave, student.id or 0, absence.day, absence.lesson_start,
                    absence.lesson_end):  # leave granted since the roll call
            absence.state, absence.updated_at = "leave", now
            continue
        # Read once more: a report may have come in up to the cutoff.
        if any(report_excuses(r, absence) for r in reports[absence.day].get(student.id or 0, [])):
            absence.state, absence.updated_at = "reported", now
            continue
        due.setdefault((absence.day, student.id or 0), _Due(student)).absences.append(absence)
    if not due:
        return 0
    if not rules.same_day_notice:  # the plan has no notice: unexcused, nobody is told
        for item in due.values():
            for absence in item.absences:
                absence.state, absence.updated_at = "unexcused", now
                audit_unexcused(session, absence, now)
        return 0
    queued = 0
    today_due = {key: item for key, item in due.items() if key[0] == today}
    for (day, _), item in due.items():
        if day != today:
            queued += _too_late(session, school, calendar, item, today, now)
    if not today_due:
        return queued
    notified = _notified(session, school, today)
    for item in _held(session, school, rules, today, today_due, notified, now):
        today_due.pop((today, item.student.id or 0), None)
    return queued + _notify(session, school, list(today_due.values()), today, rules, notified,
                            now)


def _school_day(calendar: SchoolCalendar, day: date) -> bool:
    # A roll call on a day off (a Saturday event) is kept, but tells nobody anything.
    try:
        return calendar.is_school_day(day)
    except ValueError:
        return True


def _absent(item: _Due) -> bool:
    # Late arrivals are recorded (they count for the ladder) but are not news to send home.
    return any(absence.kind == "absent" for absence in item.absences)


def _notified(session: Session, school: School, day: date) -> dict[int, int]:
    """The students whose guardians were told of an absence on `day`, with their classes."""
    return dict(session.execute(
        select(Student.id, Student.class_id).join(Absence, Absence.student_id == Student.id)
        .where(Student.school_id == school.id, Absence.day == day,
               Absence.notified_at.is_not(None)).distinct()
    ).all())


def _held(
    session: Session, school: School, rules: NoticeRules, today: date,
    due: dict[tuple[date, int], _Due], notified: dict[int, int], now: datetime,
) -> list[_Due]:
    """The students whose notices wait for a coordinator's word (a possible false alarm)."""
    fresh = [item for item in due.values()
             if _absent(item) and (item.student.id or 0) not in notified]
    if not fresh:
        return []
    by_class: dict[int, list[_Due]] = defaultdict(list)
    for item in fresh:
        by_class[item.student.class_id].append(item)
    sizes: dict[int, int] = dict(session.execute(
        select(Student.class_id, func.count()).where(Student.school_id == school.id)
        .group_by(Student.class_id)
    ).all())
    told_by_class: dict[int, int] = defaultdict(int)
    for class_id in notified.values():
        told_by_class[class_id] += 1
    # The whole school first: one question covers the whole roll call.
    school_scope = f"school:{school.id}"
    scopes = [(school_scope, fresh, sum(sizes.values()), len(notified))] + [
        (f"class:{class_id}", items, int(sizes.get(class_id, 0)), told_by_class[class_id])
        for class_id, items in by_class.items()
    ]
    held: dict[int, _Due] = {}
    for scope, items, size, told in scopes:
        would = len(items) + told
        if not too_many(would, size, rules):
            continue
        decision = _guard_decision(session, school, scope, today, would, size, now,
                                   [item.student for item in items])
        if decision == "confirmed":
            if scope == school_scope:
                break  # confirmed for the whole school: no class is asked about
            continue
        for item in items:
            held[item.student.id or 0] = item
        if decision == "cancelled":
            for item in items:
                for absence in item.absences:
                    absence.state, absence.updated_at = "unexcused", now  # no notice
                    audit_unexcused(session, absence, now)
        if scope == school_scope:
            break  # the school's answer is awaited: one question is enough
    return list(held.values())


def _guard_decision(
    session: Session, school: School, scope: str, day: date, would: int, size: int,
    now: datetime, students: list[Student],
) -> str | None:
    """"confirmed", "cancelled", or None while staff have not answered (asked once)."""
    staff = list(session.execute(
        select(Person).join(StaffRole, StaffRole.person_id == Person.id)
        .where(StaffRole.school_id == school.id,
               StaffRole.role.in_(["coordinator", "principal"]))
        .order_by(StaffRole.role, Person.id)
    ).scalars().unique().all())
    if not staff:  # nobody leads the school in the roster: the mentors decide
        mentors = mentors_by_student(session, [s.id or 0 for s in students])
        staff = sorted({m.id: m for found in mentors.values() for m in found}.values(),
                       key=lambda person: person.id or 0)
        if not staff:
            log.warning("notices held for %s on %s: nobody at the school to ask", scope, day)
    decisions = session.execute(
        select(StaffTask.outcome).where(
            StaffTask.dedupe_key.like(f"mass-guard:{scope}:{day.isoformat()}:%"),
            StaffTask.status == "done")
    ).scalars().all()
    if "cancelled" in decisions:
        return "cancelled"
    if "confirmed" in decisions:
        return "confirmed"
    label = _scope_label(session, scope)
    for person in staff:
        key = f"mass-guard:{scope}:{day.isoformat()}:{person.id}"
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
        enqueue(session, dedupe_key=key, recipient_id=person.id, channel=AUTO,
                language=language, text=text, now=now, choices=choices)
        log.info("notices held for %s on %s: %s of %s", scope, day, would, size)
    return None


def _scope_label(session: Session, scope: str) -> str:
    kind, _, ident = scope.partition(":")
    if kind == "class":
        klass = session.get(SchoolClass, int(ident))
        return klass.name if klass else ident
    school = session.get(School, int(ident))
    return school.name if school else ident


def _names(session: Session, students: list[Student]) -> dict[int, tuple[str, str]]:
    """Each student's first name (for guardians) and "Name (class)" (for staff)."""
    found: dict[int, tuple[str, str]] = {}
    ids = [s.id for s in students]
    for part in chunks(ids):
        for student_id, name, klass, protected, external_id in session.execute(
            select(Student.id, Person.name, SchoolClass.name, Student.protected,
                   Student.external_id)
            .join(Person, Person.id == Student.person_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.id.in_(part))
        ).all():
            found[student_id] = (name.split()[0] if name else "",
                                 f"#{external_id}" if protected else f"{name} ({klass})")
    return found


def _notify(
    session: Session, school: School, items: list[_Due], today: date, rules: NoticeRules,
    notified: dict[int, int], now: datetime,
) -> int:
    """Mark the absences unexcused and tell each student's guardians once today (later
    lessons join the record); queue the mentors' prompts."""
    tell: list[_Due] = []
    for item in items:
        for absence in item.absences:
            absence.state, absence.updated_at = "unexcused", now
            audit_unexcused(session, absence, now)
            if absence.kind == "absent":
                absence.notified_at = absence.notified_at or now
        if _absent(item) and (item.student.id or 0) not in notified:
            tell.append(item)
    if not tell:
        return 0
    students = [item.student for item in tell]
    names, recipients = _names(session, students), recipients_by_student(session, students)
    messages: list[dict[str, Any]] = []
    states: dict[int, dict[str, Any]] = {}
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
                "dedupe_key": f"{NOTICE_PREFIX}{student.id}:{today.isoformat()}:{person.id}",
                "recipient_id": person.id, "channel": AUTO, "language": language,
                "text": text, "choices": [{"key": f"{NOTICE_KEY}{student.id}:{today.isoformat()}",
                                           "label": gettext_for(language, "Give the reason")}],
            })
            states.setdefault(person.id or 0, {"students": [], "day": today.isoformat()})[
                "students"].append(student.id)
    queued = len(enqueue_many(session, messages, now=now))
    # The guardian's next words answer the notice (or notices: siblings), unless they are
    # in another dialog; an older notice's question is replaced.
    existing = {state.person_id: state for state in session.execute(
        select(ConversationState).where(
            ConversationState.person_id.in_(list(states)))).scalars()}
    for person_id, data in states.items():
        state = existing.get(person_id)
        if state is None:
            session.add(ConversationState(person_id=person_id, dialog=NOTICE_DIALOG,
                                          step="answer", data=data, updated_at=now))
        elif state.dialog == NOTICE_DIALOG:
            if state.data.get("day") == data["day"]:  # a later lesson, another child
                data = {**data, "students": sorted(
                    {*state.data.get("students", []), *data["students"]})}
            state.data, state.updated_at = data, now
    return queued + _prompt_mentors(session, tell, today, today, rules, now, told=True,
                                    names=names, recipients=recipients)


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


def _too_late(
    session: Session, school: School, calendar: SchoolCalendar, item: _Due, today: date,
    now: datetime,
) -> int:
    """An absence from an earlier day still open: unexcused, no notice; the mentor is told."""
    day = item.absences[0].day
    for absence in item.absences:
        absence.state, absence.updated_at = "unexcused", now
        audit_unexcused(session, absence, now)
    if not _absent(item) or (item.student.id or 0) in _notified(session, school, day):
        return 0
    try:
        recent = calendar.add_school_days(day, LATE_PROMPT_DAYS) >= today
    except ValueError:  # no school days ahead in the calendar
        recent = False
    if not recent:
        return 0
    students = [item.student]
    return _prompt_mentors(session, [item], day, today, notice_rules(school), now, told=False,
                           names=_names(session, students),
                           recipients=recipients_by_student(session, students))


def _prompt_mentors(
    session: Session, items: list[_Due], day: date, today: date, rules: NoticeRules,
    now: datetime, *, told: bool, names: dict[int, tuple[str, str]],
    recipients: dict[int, list[Person]],
) -> int:
    """One prompt per student, day and mentor: call home, with the outcome as buttons."""
    students = [item.student for item in items]
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


def send_notice_corrections(session: Session, now: datetime) -> int:
    """Settle today's notices that are no longer true.

    Roll call took the absence back (present, or a late arrival): the guardians whose
    notice went out get a short correction, once, and the mentor's call is off. A
    guardian explained it (a report): the call is off, nothing is sent.
    """
    queued = 0
    for school in session.execute(select(School)).scalars():
        today = now.astimezone(ZoneInfo(school.timezone)).date()
        notified = session.execute(
            select(Absence, Student).join(Student, Student.id == Absence.student_id)
            .where(Student.school_id == school.id, Absence.day == today,
                   Absence.notified_at.is_not(None))
            .order_by(Absence.student_id)
        ).all()
        by_student: dict[int, tuple[Student, list[Absence]]] = {}
        for absence, student in notified:
            by_student.setdefault(student.id or 0, (student, []))[1].append(absence)
        for student, absences in by_student.values():
            if _still_absent(session, student.id or 0, today):
                continue
            taken_back = all(a.kind == "late" or a.state == "withdrawn" for a in absences)
            if taken_back:
                queued += _correct(session, student, today, now)
            _close_calls(session, student, today, "corrected" if taken_back else "reported",
                         now)
        _close_earlier_calls(session, school, today, now)
    return queued


def _close_earlier_calls(session: Session, school: School, today: date, now: datetime) -> None:
    """A call still open about an earlier day whose absence was since corrected or reported
    is off too (the guardians are not written to about an earlier day)."""
    for task in session.execute(
        select(StaffTask).where(StaffTask.school_id == school.id,
                                StaffTask.dedupe_key.startswith(CALL_PREFIX),
                                StaffTask.status.in_(["open", "snoozed"]))
    ).scalars().all():
        day = date.fromisoformat(task.dedupe_key.split(":")[2])
        student = session.get(Student, task.student_id) if task.student_id else None
        if day < today and student is not None and not _still_absent(
                session, student.id or 0, day):
            reported = session.execute(select(Absence.id).where(
                Absence.student_id == student.id, Absence.day == day,
                Absence.state == "reported")).first() is not None
            _close_calls(session, student, day, "reported" if reported else "corrected", now)


def _still_absent(session: Session, student_id: int, day: date) -> bool:
    return session.execute(
        select(Absence.id).where(Absence.student_id == student_id, Absence.day == day,
                                 Absence.kind == "absent",
                                 Absence.state.in_(["open", "unexcused"]))
    ).first() is not None


def _correct(session: Session, student: Student, day: date, now: datetime) -> int:
    """A correction to each guardian whose notice went out (one never sent needs none)."""
    told = session.execute(
        select(Person).join(OutboxMessage, OutboxMessage.recipient_id == Person.id)
        .where(OutboxMessage.dedupe_key.like(f"{NOTICE_PREFIX}{student.id}:{day.isoformat()}:%"),
               OutboxMessage.status.in_(["sending", "sent", "delivered"]))
        .order_by(Person.id)
    ).scalars().all()
    child = session.get(Person, student.person_id)
    name = child.name.split()[0] if child and child.name else ""
    queued = 0
    for person in told:
        language = person.language
        text = (gettext_for(language, "Correction: you are registered as present at school "
                                      "today after all. Please ignore our earlier message.")
                if student.adult else
                gettext_for(language, "Correction: {child} is registered as present at school "
                                      "today after all. Please ignore our earlier message, and "
                                      "sorry for the trouble.", child=name))
        queued += enqueue(
            session, dedupe_key=f"notice-correction:{student.id}:{day.isoformat()}:{person.id}",
            recipient_id=person.id, channel=AUTO, language=language, text=text, now=now)
        forget_notice_about(session, person.id or 0, student.id or 0)
    return queued


def _close_calls(
    session: Session, student: Student, day: date, outcome: str, now: datetime
) -> None:
    """The mentor's call about this absence is no longer needed (and not carried over); a
    mentor who was prompted hears why, and the prompt's buttons close."""
    for task in session.execute(
        select(StaffTask).where(
            StaffTask.dedupe_key.like(f"{CALL_PREFIX}{student.id}:{day.isoformat()}:%"),
            StaffTask.status.in_(["open", "snoozed"]))
    ).scalars().all():
        task.status, task.outcome, task.done_at, task.remind_at = (
            "not_needed", outcome, now, None)
        audit_closed(session, task, now)
        _tell_call_off(session, task, student, outcome, now)


def _tell_call_off(
    session: Session, task: StaffTask, student: Student, outcome: str, now: datetime
) -> None:
    """Tell the mentor a call they were prompted for is off, closing the prompts' buttons
    (the attachment names them: the web chat greys them, Telegram removes them)."""
    prompts = session.execute(
        select(OutboxMessage.id, OutboxMessage.provider_ref).where(
            OutboxMessage.recipient_id == task.assignee_id,
            OutboxMessage.dedupe_key.like(f"{task.dedupe_key}%"),
            OutboxMessage.status.in_(["sending", "sent", "delivered", "maybe_sent"]))
    ).all()
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
    enqueue(session, dedupe_key=off_key[:200], recipient_id=mentor.id,
            channel=AUTO, language=mentor.language, text=text, now=now,
            attachment={"closes": [{"id": row.id, "ref": row.provider_ref} for row in prompts]})


def remind_snoozed_calls(session: Session, now: datetime) -> int:
    """A call that got no answer comes back as a prompt at the time the mentor chose."""
    queued = 0
    for task in session.execute(
        select(StaffTask).where(StaffTask.kind == "call_home", StaffTask.status == "snoozed",
                                StaffTask.dedupe_key.startswith(CALL_PREFIX),
                                StaffTask.remind_at <= now)
    ).scalars():
        student = session.get(Student, task.student_id) if task.student_id else None
        mentor = session.get(Person, task.assignee_id)
        school = session.get(School, task.school_id)
        if student is None or mentor is None or school is None:
            continue
        remind_at = task.remind_at
        task.status, task.remind_at = "open", None
        local = now.astimezone(ZoneInfo(school.timezone))
        rules = notice_rules(school)
        day = date.fromisoformat(task.dedupe_key.split(":")[2])
        asked_for = remind_at.astimezone(local.tzinfo).date() if remind_at else None
        if asked_for != local.date() or local.time() >= rules.day_ends:
            continue  # the school day is over: the morning summary carries it
        label = student_label(session, student)
        guardians = [p for p in recipients_by_student(session, [student]).get(student.id or 0, [])
                     if p.phone]
        again = remind_at.isoformat() if remind_at else now.isoformat()
        queued += enqueue(
            session, dedupe_key=f"{task.dedupe_key}:again:{again}"[:200],
            recipient_id=mentor.id, channel=AUTO, language=mentor.language, now=now,
            text=call_prompt(mentor.language, label, guardians, day, local.date(),
                             day == local.date()) + _answered(session, student, day,
                                                              mentor.language, local.tzinfo),
            choices=call_choices(mentor.language, task.id or 0, rules))
    return queued


def _answered(session: Session, student: Student, day: date, language: str,
              zone: Any) -> str:
    """Whether the guardians answered the day's notice, for the mentor's prompt."""
    answered = notice_answers(session, student.id or 0, day, day).get(day)
    if answered is None:
        return ""
    if answered[0] is None:
        return "\n" + gettext_for(language, "notice not answered")
    return "\n" + gettext_for(language, "notice answered at {time}",
                               time=f"{answered[0].astimezone(zone):%H:%M}")


def remind_missing_roll_calls(session: Session, now: datetime) -> int:
    """A class with no roll call by the set time gets its mentors a reminder (not notices).

    Only at schools that take roll call class by class with Närvaro (in the chat, or
    by the API naming classes) in the last two weeks: a file that lists only the
    absent cannot say that a class was all there.
    """
    queued = 0
    for school in session.execute(select(School)).scalars():
        rules = notice_rules(school)
        local = now.astimezone(ZoneInfo(school.timezone))
        today = local.date()
        if not rules.roll_call_by <= local.time().replace(tzinfo=None) < rules.day_ends:
            continue
        if not school_calendar(session, school).is_school_day(today):
            continue
        classes = session.execute(
            select(SchoolClass).where(SchoolClass.school_id == school.id)
        ).scalars().all()
        taken = session.execute(
            select(RollCall.class_id, RollCall.day, RollCall.source).where(
                RollCall.class_id.in_([c.id for c in classes]),
                RollCall.day >= today - timedelta(days=14))
        ).all()
        if not any(source in ("roll", "api") for _, _, source in taken):
            continue
        done_today = {class_id for class_id, day, _ in taken if day == today}
        for klass in classes:
            if klass.id in done_today:
                continue
            for mentor in _class_mentors(session, klass.id or 0):
                language = mentor.language
                queued += enqueue(
                    session,
                    dedupe_key=f"roll-reminder:{klass.id}:{today.isoformat()}:{mentor.id}",
                    recipient_id=mentor.id, channel=AUTO, language=language, now=now,
                    text=gettext_for(language, "No roll call for {group} today yet. Please "
                                               "take it (/roll).", group=klass.name))
    return queued


def _class_mentors(session: Session, class_id: int) -> list[Person]:
    return list(session.execute(
        select(Person).join(MentorLink, MentorLink.mentor_id == Person.id)
        .join(Student, Student.id == MentorLink.student_id)
        .where(Student.class_id == class_id).distinct().order_by(Person.id)
    ).scalars())
