"""Storing roll call: absences and late arrivals, upserted by student, day and slot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from policy.attendance import AttendanceRecord
from policy.calendar import SchoolCalendar
from policy.choices import NoticeAnswer
from policy.ladder import Record
from policy.notices import is_quiet
from storage.audit import audit_unexcused
from storage.db import chunks
from storage.leave import LeaveParts, leave_parts, on_leave
from storage.models import (
    Absence,
    AuditLog,
    ConversationState,
    OutboxMessage,
    RollCall,
    School,
    StaffTask,
    Student,
)
from storage.outbox import MessageKind
from storage.reports import excused_by_report
from storage.schools import notice_rules, school_calendar


def student_resolver(session: Session) -> dict[str, dict[str, int]]:
    """Student row ids by school's student id, per school name (for validating files)."""
    by_school: dict[str, dict[str, int]] = {}
    for name, external_id, row_id in session.execute(
        select(School.name, Student.external_id, Student.id).join(
            School, col(School.id) == Student.school_id
        )
    ):
        by_school.setdefault(name, {})[external_id] = row_id
    return by_school


def closed_days(session: Session) -> Callable[[int, date], str | None]:
    """Why a day is not a school day at a student's school (weekend, public holiday, break,
    outside the terms), or None: for refusing roll call on such a day."""
    calendars: dict[int, tuple[str, SchoolCalendar]] = {}

    def closed(student_id: int, day: date) -> str | None:
        student = session.get(Student, student_id)
        if student is None:
            return None
        if student.school_id not in calendars:
            school = session.get(School, student.school_id)
            if school is None:
                return None
            calendars[student.school_id] = (school.name, school_calendar(session, school))
        name, calendar = calendars[student.school_id]
        if calendar.is_school_day(day):
            return None
        why = calendar.holiday_name(day) or (
            day.strftime("%A") if day.weekday() >= 5 else "a break or outside the terms")
        return (f"{day.isoformat()} is not a school day at {name} ({why}); roll call is for "
                "school days only")

    return closed


def resolve_student(
    students: dict[str, dict[str, int]], school: str, student_id: str
) -> int | str:
    """The row id of `student_id` (at `school` if given), or a problem to report."""
    if school:
        found = students.get(school, {}).get(student_id)
        return found if found is not None else f"no student {student_id} at school {school}"
    matches = [ids[student_id] for ids in students.values() if student_id in ids]
    if not matches:
        return f"no student with student_id {student_id} in the roster"
    if len(matches) > 1:
        return f"student_id {student_id} is in several schools; add a school column"
    return matches[0]


def _retire_placeholders(
    session: Session, student_id: int, day: date, *, keep: str, now: datetime
) -> None:
    """Withdraw absences only a guardian's report made for this day: roll call now has it.

    The roll-call rows themselves are excused by the report (see `excused_by_report`).
    """
    for placeholder in session.execute(
        select(Absence).where(
            Absence.student_id == student_id, Absence.day == day, Absence.source == "report",
            Absence.slot != keep, Absence.state != "withdrawn",
        )
    ).scalars():
        placeholder.state, placeholder.updated_at = "withdrawn", now


def record_roll_call(
    session: Session, class_id: int, day: date, *, source: str, now: datetime,
    taken_by: int | None = None,
) -> None:
    """Note that the class's roll call for `day` has been taken (the first time counts)."""
    exists = session.execute(
        select(RollCall.id).where(RollCall.class_id == class_id, RollCall.day == day)
    ).first()
    if exists is None:
        session.add(RollCall(class_id=class_id, day=day, source=source, taken_by=taken_by,
                             taken_at=now))
        session.flush()


def _excused(session: Session, leave: LeaveParts, absence: Absence) -> str | None:
    """The state of an absence the school already knows of: "leave" (granted), "reported"
    (a guardian's report covers it), or None."""
    if on_leave(leave, absence.student_id, absence.day, absence.lesson_start,
                absence.lesson_end):
        return "leave"
    return "reported" if excused_by_report(session, absence) else None


def apply_attendance(
    session: Session, records: Iterable[AttendanceRecord], *, now: datetime, source: str,
    actor: str = "cli", taken_by: int | None = None,
) -> dict[str, int]:
    """Upsert roll-call records; `present` withdraws an earlier absence (a correction).

    This is the one service every roll-call path ends in (file import, the API, a
    teacher in the chat). The classes the records touch count as having had
    their roll call that day.
    """
    records = list(records)
    ids = sorted({record.student for record in records})
    class_of: dict[int, int] = {}
    for part in chunks(ids, 5000):  # well under SQLite's limit on bound values
        class_of.update((int(student_id), int(class_id)) for student_id, class_id in
                        session.execute(select(Student.id, Student.class_id).where(
                            col(Student.id).in_(part))).all())
    for class_id, day in sorted({(class_of[r.student], r.day) for r in records
                                 if r.student in class_of}):
        record_roll_call(session, class_id, day, source=source, now=now, taken_by=taken_by)
    leave = leave_parts(session, ids, {record.day for record in records})
    counts = {"absent": 0, "late": 0, "withdrawn": 0, "unchanged": 0}
    changed: dict[int, dict[str, int]] = {}
    for record in records:
        absence = session.execute(
            select(Absence).where(
                Absence.student_id == record.student,
                Absence.day == record.day,
                Absence.slot == record.slot,
            )
        ).scalar_one_or_none()
        if record.status == "present":
            if absence is not None and absence.state != "withdrawn":
                absence.state, absence.updated_at = "withdrawn", now
                counts["withdrawn"] += 1
                _bump(changed, record.student, "withdrawn")
            else:
                counts["unchanged"] += 1
            continue
        if absence is None:
            absence = Absence(
                student_id=record.student, day=record.day, slot=record.slot,
                lesson_start=record.lesson_start, lesson_end=record.lesson_end,
                kind=record.status, minutes_late=record.minutes_late, source=source,
                recorded_at=now, updated_at=now,
            )
            session.add(absence)
            absence.state = _excused(session, leave, absence) or absence.state
        else:
            new = (record.status, record.minutes_late, record.lesson_end)
            if absence.source == "report":
                absence.source = source  # roll call now vouches for it, not only a report
            if absence.state != "withdrawn" and new == (
                absence.kind, absence.minutes_late, absence.lesson_end
            ):
                counts["unchanged"] += 1
                continue
            absence.kind, absence.minutes_late, absence.lesson_end = new
            if absence.state == "withdrawn":
                absence.state = _excused(session, leave, absence) or "open"
            absence.updated_at = now
        counts[record.status] += 1
        _bump(changed, record.student, record.status)
        _retire_placeholders(session, record.student, record.day, keep=record.slot, now=now)
    session.add(AuditLog(at=now, actor=actor, action="attendance.import", entity="absence",
                         detail=dict(counts)))
    # One row per student whose absences changed, so a student's trail shows each change.
    rows = [{"at": now, "actor": actor, "action": "absence.record", "entity": "absence",
             "student_id": student_id, "detail": {"source": source, **what}}
            for student_id, what in sorted(changed.items())]
    for rows_part in chunks(rows, 1000):
        session.execute(insert(AuditLog), list(rows_part))
    return counts


def _bump(changed: dict[int, dict[str, int]], student_id: int, status: str) -> None:
    what = changed.setdefault(student_id, {})
    what[status] = what.get(status, 0) + 1


#: The outbox key of a same-day absence notice: `absence-notice:STUDENT:DAY:RECIPIENT` (a
#: dedupe key only: the row's columns say what it is about).
NOTICE_PREFIX = "absence-notice:"
#: The dialog a notice opens (the guardian's next words answer it: handlers.notice_answer).
NOTICE_DIALOG = "notice"
#: The data that begins a notice's button (`policy.choices.NoticeAnswer`), for
#: `scheduler.notices` until it packs the typed key.
NOTICE_KEY = NoticeAnswer.stem()


def _still_unexcused(session: Session, student_id: int, day: date) -> bool:
    return session.execute(
        select(Absence.id).where(Absence.student_id == student_id, Absence.day == day,
                                 Absence.kind == "absent", Absence.state == "unexcused")
    ).first() is not None


def still_true(session: Session, message: OutboxMessage, now: datetime) -> bool:
    """Whether a notice or a call prompt still says what is so, read right before sending.

    A notice goes out only while the absence it is about is unexcused, on its own day and
    outside the quiet hours: a report or a correction since the cutoff stops it, and
    yesterday's notice is not news. A call prompt goes out only while the absence is
    unexcused and its call is still to be made. What a message is about is read from its
    columns (kind, student, day, task).
    """
    if message.student_id is None or message.day is None:
        return True
    if message.kind == MessageKind.NOTICE:
        student = session.get(Student, message.student_id)
        school = session.get(School, student.school_id) if student else None
        if school is not None:
            local = now.astimezone(ZoneInfo(school.timezone))
            if local.date() != message.day or is_quiet(local.time().replace(tzinfo=None),
                                                       notice_rules(school)):
                return False
        return _still_unexcused(session, message.student_id, message.day)
    if message.kind == MessageKind.CALL_PROMPT:
        open_task = session.execute(
            select(StaffTask.id).where(StaffTask.id == message.task_id,
                                       StaffTask.status == "open")
        ).first()
        return open_task is not None and _still_unexcused(session, message.student_id,
                                                          message.day)
    return True


def record_notice_answer(
    session: Session, student_ids: list[int], day: date, *, answer: str, now: datetime
) -> list[int]:
    """Record a guardian's answer to the notice about these students' absence on `day`
    ("known" or "replied"); a "known" answer settles an earlier "replied". Returns the
    students whose answer changed (their mentors are told)."""
    changed: set[int] = set()
    for absence in session.execute(select(Absence).where(
            col(Absence.student_id).in_(student_ids), Absence.day == day,
            col(Absence.notified_at).is_not(None))).scalars():
        if absence.answer == answer or absence.answer == "known":
            continue
        absence.answered_at, absence.answer = now, answer
        changed.add(absence.student_id)
    return sorted(changed)


def notice_answers(
    session: Session, student_id: int, first: date, last: date
) -> dict[date, tuple[datetime | None, str | None]]:
    """Per day from `first` to `last` on which the guardians were sent a notice about the
    student: when they answered and how (None, None: not answered)."""
    found: dict[date, tuple[datetime | None, str | None]] = {}
    for day, answered_at, answer in session.execute(
            select(col(Absence.day), col(Absence.answered_at), col(Absence.answer)).where(
                Absence.student_id == student_id, col(Absence.notified_at).is_not(None),
                col(Absence.day) >= first, col(Absence.day) <= last)
            .order_by(col(Absence.day))).all():
        if day not in found or (answered_at is not None and found[day][0] is None):
            found[day] = (answered_at, answer)
    return found


def forget_notice_question(session: Session, message: OutboxMessage) -> None:
    """A notice that is not sent asks nothing: the guardian's next words are not its answer."""
    if (message.kind == MessageKind.NOTICE and message.student_id is not None
            and message.recipient_id is not None):
        forget_notice_about(session, message.recipient_id, message.student_id)


def forget_notice_about(session: Session, person_id: int, student_id: int) -> None:
    """The person's next words no longer answer a notice about this student."""
    state = session.get(ConversationState, person_id)
    if state is None or state.dialog != NOTICE_DIALOG:
        return
    left = [s for s in state.data.get("students", []) if s != student_id]
    if left:
        state.data = {**state.data, "students": left}
    else:
        session.delete(state)


def absent_days(session: Session, student_id: int, first: date, last: date) -> set[date]:
    """The days from `first` to `last` the student was away the whole day (reported or
    not)."""
    return set(session.execute(select(col(Absence.day)).where(
        Absence.student_id == student_id, Absence.kind == "absent",
        col(Absence.lesson_start).is_(None), col(Absence.state).in_(["reported", "unexcused"]),
        col(Absence.day) >= first, col(Absence.day) <= last)).scalars())


def ladder_records(session: Session, students: list[int], first: date,
                   last: date) -> dict[int, list[Record]]:
    """Per student, their roll-call records from `first` to `last`, as the ladder reads them."""
    found: dict[int, list[Record]] = defaultdict(list)
    for part in chunks(students):
        for student_id, day, kind, state, start, end in session.execute(
            select_columns(col(Absence.student_id), col(Absence.day), col(Absence.kind),
                           col(Absence.state), col(Absence.lesson_start), col(Absence.lesson_end))
            .where(col(Absence.student_id).in_(part),
                   col(Absence.day) >= first, col(Absence.day) <= last)
        ).all():
            found[student_id].append(Record(day, kind, state, start, end))
    return found


def settle_old_absences(session: Session, school_id: int, before: date, now: datetime) -> int:
    """Absences still open from before `before` (a roll call imported long after the day):
    unexcused, with no notice and no prompt, so the plan's counters see them. A report for
    such a day could not excuse it any more (the three-school-day rule)."""
    students = select(Student.id).where(Student.school_id == school_id)
    old = list(session.execute(select(Absence).where(
        Absence.state == "open", Absence.day < before,
        col(Absence.student_id).in_(students))).scalars())
    for absence in old:
        absence.state, absence.updated_at = "unexcused", now
        audit_unexcused(session, absence, now)
    return len(old)
