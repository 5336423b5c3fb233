"""Corrections: today's notices that are no longer true are settled.

Roll call took the absence back (present, or a late arrival): the guardians whose notice
went out get a short correction, once, and the mentor's call is off. A guardian explained
it (a report): the call is off, nothing is sent. A call still open about an earlier day
whose absence was since corrected or reported is off too (the guardians are not written to
about an earlier day).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from scheduler.schools import each_school
from services.notices import close_calls, correct_notice
from storage.models import Absence, Student
from storage.notices import notified_today, open_calls, reported, still_absent
from storage.tasks import task_student


def send_notice_corrections(session: Session, now: datetime) -> int:
    """Settle today's notices that are no longer true; returns how many corrections were
    queued."""
    queued = 0
    for school in each_school(session, now):
        today = school.today
        by_student: dict[int, tuple[Student, list[Absence]]] = {}
        for absence, student in notified_today(session, school.id, today):
            by_student.setdefault(student.id or 0, (student, []))[1].append(absence)
        for student, absences in by_student.values():
            if still_absent(session, student.id or 0, today):
                continue
            taken_back = all(a.kind == "late" or a.state == "withdrawn" for a in absences)
            if taken_back:
                queued += correct_notice(session, student, today, now)
            close_calls(session, student, today, "corrected" if taken_back else "reported", now)
        for task, day in open_calls(session, school_id=school.id):
            pupil = task_student(session, task)
            if day < today and pupil is not None and not still_absent(
                    session, pupil.id or 0, day):
                close_calls(session, pupil, day,
                            "reported" if reported(session, pupil.id or 0, day)
                            else "corrected", now)
    return queued
