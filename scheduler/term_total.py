"""The guardians hear the term's total: "Elsa has missed 10 school days this term."

Where a school has thresholds (`term_total_days`, `policy.term_total`), this sweep counts each
child's school days missed this term, through the last day that has ended, and when the total
passes a threshold it queues one short, plain message to each guardian (an adult student:
to themselves), in their language, after the quiet hours: the number, that every day counts,
and the school's number to call. No reason, no rule, no step of any plan. Once per threshold
and term (the dedupe key names the term's start); a new term starts from nothing.

Only children with enough days that have any absence at all are read in full (one grouped
query per school), so a sweep every half minute costs little.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from locales import gettext_for, ngettext_for
from policy.ladder import days_missed, term_of
from policy.phones import as_dialled
from policy.routing import AUTO
from policy.term_total import counted_through, threshold_to_tell
from scheduler.letters import after_quiet_hours
from scheduler.schools import SchoolNow, each_school
from storage.attendance import ladder_records
from storage.db import chunks
from storage.models import Absence, OutboxMessage, Person, School, Student
from storage.outbox import MessageKind, about, enqueue_many
from storage.people import students_with_persons
from storage.reports import recipients_by_student

PREFIX = "term-total:"


def tell_term_totals(session: Session, now: datetime) -> int:
    """Tell the guardians of every child whose term's total passed a threshold of their
    school; returns how many messages were queued."""
    queued = 0
    for at_school in each_school(session, now):
        if at_school.rules.term_total_days:
            queued += _tell_school(session, at_school, now)
    return queued


def _tell_school(session: Session, at_school: SchoolNow, now: datetime) -> int:
    school, rules = at_school.school, at_school.rules
    through = counted_through(at_school.local, rules)
    calendar = at_school.calendar
    term = term_of(calendar, through)
    if not term.start <= through <= term.end:  # between terms: nothing to tell
        return 0
    days = calendar.school_days(term.start, through)
    candidates = _with_absent_days(session, school, term.start, through,
                                   min(rules.term_total_days))
    if not candidates:
        return 0
    records = ladder_records(session, candidates, term.start, through)
    missed = {student: days_missed(records.get(student, []), days) for student in candidates}
    students = students_with_persons(session, [s for s in candidates if missed[s] >= min(
        rules.term_total_days)])
    readers = recipients_by_student(session, [student for student, _child in students.values()])
    told = _told(session, term.start, rules.term_total_days, readers)
    messages = []
    not_before = after_quiet_hours(school, now)
    for student_id, (student, child) in students.items():
        threshold = threshold_to_tell(missed[student_id], rules.term_total_days,
                                      told.get(student_id, set()))
        if threshold is None:
            continue
        first_name = child.name.split()[0] if child.name else ""
        phone = None if student.protected or not school.phone else as_dialled(
            school.phone, school.country)
        for reader in readers.get(student_id, []):
            messages.append({
                "dedupe_key": _key(student_id, term.start, threshold, reader.id or 0),
                "recipient_id": reader.id, "channel": AUTO, "language": reader.language,
                "not_before": not_before,
                **about(MessageKind.TERM_TOTAL, student_id=student_id),
                "text": total_text(reader.language, first_name, missed[student_id], phone,
                                   adult=student.adult),
            })
    return len(enqueue_many(session, messages, now=now))


def total_text(language: str, child: str, days: int, phone: str | None, *,
               adult: bool) -> str:
    """The message in `language`: the days missed this term, that every day counts, and
    whom to call. Short sentences, no terms of law (one SMS in sv, nb, da and en)."""
    if adult:
        # Translators: to a student of 18 or more, about their own absence this term. Plain
        # words, short sentences, no legal terms; it must fit one SMS.
        total = ngettext_for(language, "You have missed {n} school day this term.",
                             "You have missed {n} school days this term.", days)
    else:
        # Translators: to a guardian; {child} is the child's first name. Plain words, short
        # sentences, no legal terms; it must fit one SMS.
        total = ngettext_for(language, "{child} has missed {n} school day this term.",
                             "{child} has missed {n} school days this term.", days,
                             child=child)
    counts = gettext_for(language, "Every day in school counts.")
    if phone:
        # Translators: ends the term's total; {phone} is the school's number.
        talk = gettext_for(language, "If you want to talk, call the school: {phone}",
                           phone=phone)
    else:
        talk = gettext_for(language, "If you want to talk, contact the school.")
    return f"{total} {counts} {talk}"


def _key(student_id: int, term_start: date, threshold: int, reader_id: int) -> str:
    return f"{PREFIX}{student_id}:{term_start.isoformat()}:{threshold}:{reader_id}"


def _with_absent_days(session: Session, school: School, first: date, last: date,
                      at_least: int) -> list[int]:
    """The school's students with an absence on at least `at_least` days from `first` to
    `last` (a day with only a lesson missed may not count: read them in full after)."""
    return list(session.execute(
        select(Absence.student_id)
        .join(Student, col(Student.id) == Absence.student_id)
        .where(Student.school_id == school.id, Absence.kind == "absent",
               Absence.state != "withdrawn", col(Absence.day) >= first,
               col(Absence.day) <= last)
        .group_by(col(Absence.student_id))
        .having(func.count(distinct(col(Absence.day))) >= at_least)
    ).scalars())


def _told(session: Session, term_start: date, thresholds: tuple[int, ...],
          readers: dict[int, list[Person]]) -> dict[int, set[int]]:
    """Per student, the thresholds already told this term (to any of their readers): the
    messages' keys are looked up whole, never read back."""
    wanted = {_key(student_id, term_start, threshold, reader.id or 0): (student_id, threshold)
              for student_id, people in readers.items() for reader in people
              for threshold in thresholds}
    told: dict[int, set[int]] = {}
    for part in chunks(list(wanted)):
        for key in session.execute(select(OutboxMessage.dedupe_key).where(
                col(OutboxMessage.dedupe_key).in_(part))).scalars():
            student_id, threshold = wanted[key]
            told.setdefault(student_id, set()).add(threshold)
    return told
