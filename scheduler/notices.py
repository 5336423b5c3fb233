"""Same-day notices: at the roll-call cutoff an absence without a report becomes unexcused.

Each sweep, for every school: open absences whose cutoff has passed are read
against the reports once more; those still without one become unexcused, the
guardians get one notice per student and day (adult students: the student),
and the mentors one prompt to call home. A burst that would tell more than a
set share of a class or school is held for the coordinator or principal to
confirm (policy.guard). Quiet hours hold notices; a notice that could not go out
the same day is never sent later, and the mentor is told instead. The messages
are services.notices'.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlmodel import Session

from policy.calendar import SchoolCalendar
from policy.guard import Scope, Verdict, guard, scopes, verdict
from policy.notices import cutoff, is_quiet
from scheduler.schools import SchoolNow, each_school
from services.notices import Due, ask_guard, prompt_mentors, tell_guardians
from storage.attendance import settle_old_absences
from storage.audit import audit_unexcused
from storage.leave import leave_parts, on_leave
from storage.models import Absence, Student
from storage.notices import (
    class_sizes,
    guard_answers,
    notified_students,
    open_absences,
    school_leads,
    scope_label,
    student_names,
)
from storage.reports import (
    mentors_by_student,
    recipients_by_student,
    report_excuses,
    reports_for_day,
)

log = logging.getLogger(__name__)
#: How far back an absence still open is looked at (a sweep after a long downtime).
LOOKBACK = timedelta(days=14)
#: Only absences this recent make the mentor a prompt when no notice could go out.
LATE_PROMPT_DAYS = 3


def send_absence_notices(session: Session, now: datetime) -> int:
    """Decide every absence whose cutoff has passed; returns how many messages were queued."""
    return sum(_school(session, school, now) for school in each_school(session, now))


def _school(session: Session, school: SchoolNow, now: datetime) -> int:
    rules, local, today = school.rules, school.local.replace(tzinfo=None), school.today
    settle_old_absences(session, school.id, today - LOOKBACK, now)
    if is_quiet(school.clock, rules):
        return 0  # nothing is decided at night: the first sweep after the quiet hours does it
    rows = open_absences(session, school.id, today - LOOKBACK, today)
    past = [(absence, student) for absence, student in rows
            if cutoff(absence.day, absence.lesson_start, rules) <= local
            and _school_day(school.calendar, absence.day)]
    if not past:
        return 0
    due = _due(session, past, now)
    if not due:
        return 0
    if not rules.same_day_notice:  # the plan has no notice: unexcused, nobody is told
        for item in due.values():
            item.mark_unexcused(session, now)
        return 0
    queued = 0
    today_due = {key: item for key, item in due.items() if key[0] == today}
    for (day, _), item in due.items():
        if day != today:
            queued += _too_late(session, school, item, now)
    if not today_due:
        return queued
    notified = notified_students(session, school.id, today)
    for student_id in _held(session, school, today_due, notified, now):
        today_due.pop((today, student_id), None)
    return queued + _notify(session, school, list(today_due.values()), notified, now)


def _due(session: Session, past: list[tuple[Absence, Student]],
         now: datetime) -> dict[tuple[date, int], Due]:
    """The absences past their cutoff that still call for a notice, by day and student;
    those granted leave or reported since the roll call are marked so instead."""
    reports = {day: reports_for_day(session, {s.id or 0 for a, s in past if a.day == day}, day)
               for day in {absence.day for absence, _ in past}}
    leave = leave_parts(session, {s.id or 0 for _a, s in past}, {a.day for a, _s in past})
    due: dict[tuple[date, int], Due] = {}
    for absence, student in past:
        if on_leave(leave, student.id or 0, absence.day, absence.lesson_start,
                    absence.lesson_end):  # leave granted since the roll call
            absence.state, absence.updated_at = "leave", now
            continue
        # Read once more: a report may have come in up to the cutoff.
        if any(report_excuses(r, absence) for r in reports[absence.day].get(student.id or 0, [])):
            absence.state, absence.updated_at = "reported", now
            continue
        due.setdefault((absence.day, student.id or 0), Due(student)).absences.append(absence)
    return due


def _school_day(calendar: SchoolCalendar, day: date) -> bool:
    # A roll call on a day off (a Saturday event) is kept, but tells nobody anything.
    try:
        return calendar.is_school_day(day)
    except ValueError:
        return True


def _held(session: Session, school: SchoolNow, due: dict[tuple[date, int], Due],
          notified: dict[int, int], now: datetime) -> set[int]:
    """The students whose notices wait for a coordinator's word (a possible false alarm);
    those whose notices staff cancelled become unexcused, and nobody is told."""
    fresh = {item.student.id or 0: item for item in due.values()
             if item.absent and (item.student.id or 0) not in notified}
    if not fresh:
        return set()
    found = scopes(school.id, {ident: item.student.class_id for ident, item in fresh.items()},
                   class_sizes(session, school.id), notified)

    def ask(scope: Scope) -> Verdict | None:
        return _guard_word(session, school, scope, [fresh[s].student for s in scope.students],
                           now)

    guarded = guard(found, school.rules, ask)
    for student_id in guarded.cancelled:
        for absence in fresh[student_id].absences:
            absence.state, absence.updated_at = "unexcused", now  # no notice
            audit_unexcused(session, absence, now)
    return guarded.held


def _guard_word(session: Session, school: SchoolNow, scope: Scope, students: list,
                now: datetime) -> Verdict | None:
    """Staff's word on a held burst, or None while they have not answered (asked once)."""
    day = school.today
    staff = school_leads(session, school.id)
    if not staff:  # nobody leads the school in the roster: the mentors decide
        mentors = mentors_by_student(session, [s.id or 0 for s in students])
        staff = sorted({m.id: m for found in mentors.values() for m in found}.values(),
                       key=lambda person: person.id or 0)
        if not staff:
            log.warning("notices held for %s on %s: nobody at the school to ask", scope.key,
                        day)
    word = verdict(guard_answers(session, scope.key, day))
    if word is None:
        ask_guard(session, school.school, scope.key, scope_label(session, scope.key), day,
                  scope.would, scope.size, staff, now)
    return word


def _notify(session: Session, school: SchoolNow, items: list[Due], notified: dict[int, int],
            now: datetime) -> int:
    """Mark the absences unexcused and tell each student's guardians once today (later
    lessons join the record); queue the mentors' prompts."""
    tell: list[Due] = []
    for item in items:
        item.mark_unexcused(session, now, notified=True)
        if item.absent and (item.student.id or 0) not in notified:
            tell.append(item)
    if not tell:
        return 0
    students = [item.student for item in tell]
    names, recipients = student_names(session, students), recipients_by_student(session, students)
    queued = tell_guardians(session, school.school, tell, school.today, names, recipients, now)
    return queued + prompt_mentors(session, students, school.today, school.today, school.rules,
                                   now, told=True, names=names, recipients=recipients)


def _too_late(session: Session, school: SchoolNow, item: Due, now: datetime) -> int:
    """An absence from an earlier day still open: unexcused, no notice; the mentor is told."""
    day = item.absences[0].day
    item.mark_unexcused(session, now)
    if not item.absent or (item.student.id or 0) in notified_students(session, school.id, day):
        return 0
    try:
        recent = school.calendar.add_school_days(day, LATE_PROMPT_DAYS) >= school.today
    except ValueError:  # no school days ahead in the calendar
        recent = False
    if not recent:
        return 0
    students = [item.student]
    return prompt_mentors(session, students, day, school.today, school.rules, now, told=False,
                          names=student_names(session, students),
                          recipients=recipients_by_student(session, students))
