"""Letters a plan's step sends guardians when a student enters it: an invitation to a
meeting, a medical certificate asked for, a report to social services that may follow.

They name the child by first name only, never a reason or a number, and wait for the end of
the quiet hours. An adult student gets them about themselves instead of their guardians.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from locales import gettext_for
from policy.ladder import Step
from policy.notices import is_quiet
from policy.routing import AUTO
from storage.models import School
from storage.outbox import MessageKind, about, enqueue_many
from storage.people import students_with_persons
from storage.reports import recipients_by_student
from storage.schools import notice_rules

#: Sent by the roll call's same-day notice, not by the ladder.
_BY_NOTICES = "unexcused_notice"


def send_letters(
    session: Session, school: School, entered: list[tuple[int, Step]], today: date,
    now: datetime, *, once_per: dict[str, date] | None = None,
) -> int:
    """Queue the letters of the steps students entered (student id, step) for their
    guardians (or the adult student); once per step and day, or once per step and the
    period starting on `once_per[step id]`. Returns how many were queued."""
    once_per = once_per or {}
    wanted = [(student_id, step) for student_id, step in entered if letters_of(step)]
    if not wanted:
        return 0
    ids = [student_id for student_id, _step in wanted]
    students = students_with_persons(session, ids)
    readers = recipients_by_student(session, [student for student, _child in students.values()])
    not_before = after_quiet_hours(school, now)
    messages = []
    for student_id, step in wanted:
        if student_id not in students:
            continue
        student, child = students[student_id]
        first_name = child.name.split()[0] if child.name else ""
        for kind in letters_of(step):
            for reader in readers.get(student_id, []):
                messages.append({
                    **about(MessageKind.LETTER, student_id=student_id),
                    "dedupe_key": f"letter:{student_id}:{step.id}:{kind}:{reader.id}:"
                                  f"{once_per.get(step.id, today).isoformat()}",
                    "recipient_id": reader.id, "channel": AUTO, "language": reader.language,
                    "not_before": not_before,
                    "text": letter_text(kind, reader.language, first_name, adult=student.adult),
                })
    return len(enqueue_many(session, messages, now=now))


def letters_of(step: Step) -> list[str]:
    """The letters entering `step` sends (the same-day notice is the roll call's)."""
    return [kind for kind in step.messages if kind != _BY_NOTICES]


def letter_text(kind: str, language: str, child: str, *, adult: bool) -> str:
    """The letter `kind` in `language`, about `child` (first name), or to the adult student."""
    if kind == "meeting_invitation":
        if adult:
            return gettext_for(language, "The school would like to meet you to talk about "
                                         "your attendance. Your mentor will contact you to find "
                                         "a time.")
        # Translators: a plan's step invites the guardians to a meeting; {child}: the child's
        # first name. No reason, no numbers.
        return gettext_for(language, "The school would like to meet you and {child} to talk "
                                     "about {child}'s attendance. The mentor will contact you "
                                     "to find a time.", child=child)
    if kind == "certificate_required":
        if adult:
            return gettext_for(language, "You have been absent for a long time. The school now "
                                         "needs a medical certificate for your absence.")
        # Translators: a long absence; the school's plan asks for a doctor's certificate.
        return gettext_for(language, "{child} has been absent for a long time. The school now "
                                     "needs a medical certificate for {child}'s absence.",
                           child=child)
    if adult:
        return gettext_for(language, "Your absence is now so high that the school may have to "
                                     "contact social services. The school wants to find a way "
                                     "forward with you; your mentor will contact you.")
    # Translators: the plan's warning that a report to social services may follow. Keep it
    # calm and respectful: the school wants to work with the family.
    return gettext_for(language, "{child}'s absence is now so high that the school may have to "
                                 "contact social services. The school wants to find a way "
                                 "forward with you; the mentor will contact you.", child=child)


def after_quiet_hours(school: School, now: datetime) -> datetime:
    """`now`, or the end of the quiet hours when it falls in them (local time)."""
    rules = notice_rules(school)
    local = now.astimezone(ZoneInfo(school.timezone))
    if not is_quiet(local.time(), rules):
        return now
    end = local.replace(hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0,
                        microsecond=0)
    return end if end > local else end + timedelta(days=1)
