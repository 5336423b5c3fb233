"""The mentors' weekly watchlist: on the school's day (Monday, 07:45 by default) each mentor
gets, in a few lines, their students who are near a step of the plan they have not reached
— with the counter, the step's threshold and the week's trend. Nothing when nobody is near;
once a week, however often the sweep runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from locales import N_, gettext_for
from policy.ladder import counters, frame_of
from policy.routing import AUTO
from policy.watchlist import nearest, trend
from scheduler.schools import each_school
from storage.attendance import ladder_records
from storage.concerns import concerned
from storage.models import MentorLink, Person, Student
from storage.outbox import MessageKind, about, enqueue_many
from storage.plan_tasks import ladder_named
from storage.tasks import student_label

COUNTER_WORDS = {
    "absence_percent": N_("absence {value} % (the plan's step at {limit} %)"),
    "unexcused_percent": N_("unexcused absence {value} % (the plan's step at {limit} %)"),
    "lesson_absences": N_("{value} single lessons missed (the plan's step at {limit})"),
    "late_this_month": N_("late {value} times this month (the plan's step after {limit})"),
    "unexcused_occasions": N_("{value} unexcused occasions (the plan's step at {limit})"),
    "absence_occasions": N_("{value} absence occasions (the plan's step at {limit})"),
}
TRENDS = {1: N_("rising"), 0: N_("steady"), -1: N_("falling")}


def send_watchlists(session: Session, now: datetime) -> int:
    """Each school's watchlists, on its day from its time, once a week per mentor."""
    messages = []
    for at_school in each_school(session, now):
        school, policy, local = at_school.school, at_school.policy, at_school.local
        ladder = ladder_named(school.policy)
        if (ladder is None or local.isoweekday() != policy.watchlist_weekday
                or at_school.clock < policy.watchlist_time):
            continue
        week = local.date().isocalendar()
        calendar = at_school.calendar
        today, week_ago = local.date(), local.date() - timedelta(days=7)
        frame_now = frame_of(calendar, today, ladder.counting)
        frame_then = frame_of(calendar, week_ago, ladder.counting)
        students = {s.id or 0: s for s in session.execute(
            select(Student).where(Student.school_id == school.id)).scalars()}
        records = ladder_records(session, list(students),
                                 min(frame_now.first, frame_then.first), today)
        worried = concerned(session, list(students))
        mentees: dict[int, list[Student]] = defaultdict(list)
        near_by_student = {}
        for ident in students:
            rows = records.get(ident, [])
            found = counters(rows, calendar, today, concern=ident in worried,
                             counting=ladder.counting, frame=frame_now)
            near = nearest(ladder, found, margin=policy.watchlist_margin)
            if near is None:
                continue
            then = counters([r for r in rows if r.day <= week_ago], calendar, week_ago,
                            concern=ident in worried, counting=ladder.counting,
                            frame=frame_then)
            near_by_student[ident] = (near, trend(near.value, then.get(near.counter, 0.0)))
        for mentor_id, student_id in session.execute(
            select(MentorLink.mentor_id, MentorLink.student_id)
            .where(col(MentorLink.student_id).in_(list(near_by_student)))
        ).all():
            mentees[mentor_id].append(students[student_id])
        for mentor_id, near_ones in mentees.items():
            mentor = session.get(Person, mentor_id)
            if mentor is None:
                continue
            language = mentor.language
            lines = [gettext_for(language, "Your students near a step of the plan this week:")]
            for student in sorted(near_ones, key=lambda s: student_label(session, s)):
                near, direction = near_by_student[student.id or 0]
                said = gettext_for(language, COUNTER_WORDS[near.counter],
                                   value=_number(near.value), limit=_number(near.limit))
                lines.append(f"• {student_label(session, student)}: {said}, "
                             f"{gettext_for(language, TRENDS[direction])}")
            messages.append({**about(MessageKind.WATCHLIST),
                             "dedupe_key": f"watch:{mentor_id}:{week.year}-{week.week}",
                             "recipient_id": mentor_id, "channel": AUTO,
                             "language": language, "text": "\n".join(lines)})
    return len(enqueue_many(session, messages, now=now))


def _number(value: float) -> str:
    """8.0 as "8", 8.25 as "8.3"."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
