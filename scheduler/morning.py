"""Return plans, run: the student's morning encouragement and check-in on each school day
of the plan, the trusted adult told when no answer comes, the mentor's evaluation task.

No message goes on a day that is not a school day, outside the plan's dates, after the
first lesson has begun, or when the student is reported absent that day (a sick child gets
no push). Each day's message is a check-in row created once: a restart, a second worker or a
second tick never sends it twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from locales import N_, gettext_for
from locales.formats import format_day
from policy.return_plan import encouragement
from policy.routing import AUTO
from scheduler.schools import SchoolsNow
from services.return_plans import END, EXTEND, alert, check_in_choices, may_message, note_guardians
from storage.attendance import absent_days
from storage.db import chunks
from storage.models import Absence, Person, PlanCheckIn, ReturnPlan, School, Student
from storage.outbox import MessageKind, about, enqueue, enqueue_many
from storage.reports import reports_for_day
from storage.return_plans import open_check_ins, own_encouragements, plan_days
from storage.tasks import add_task, student_label

#: The evaluation task reaches the mentor at the start of the school day.
EVALUATE_AT = time(8, 0)
# Translators: the morning message to a student on a return plan (a teenager, often anxious
# about school): kind, concrete, short; {name} is the student's first name.
ENCOURAGEMENTS = (
    N_("Good morning, {name}! A new day. Getting through the door is a great start."),
    N_("Morning, {name}. You don't have to manage everything today, just the next step."),
    N_("Hi {name}! Your class is better when you are there. See you soon."),
    N_("Good morning, {name}. Eat something, pack your bag and head off. You can do this."),
    N_("Morning, {name}! If something feels hard today, tell us. We will find a way "
       "together."),
    N_("Hi {name}. Every day you come counts, even a short one."),
    N_("Good morning, {name}. Take a deep breath. One lesson at a time."),
)


def send_morning_messages(session: Session, now: datetime) -> int:
    """Each plan's morning message, once per school day, from its time until the first
    lesson. Reads and writes in bulk: thousands of plans share 07:15."""
    schools = SchoolsNow(session, now)
    due: list[tuple[ReturnPlan, Person, date]] = []
    for plan, student, pupil, school in session.execute(
        select(ReturnPlan, Student, Person, School)
        .join(Student, col(Student.id) == ReturnPlan.student_id)
        .join(Person, col(Person.id) == Student.person_id)
        .join(School, col(School.id) == Student.school_id)
        .where(ReturnPlan.status == "active").order_by(col(ReturnPlan.id))
    ).all():
        at = schools.get(school)
        if (at is not None and plan_days(plan, school).morning_due(at.local, at.calendar)
                and may_message(student, pupil)):
            due.append((plan, pupil, at.today))
    if not due:
        return 0
    days = {day for _plan, _pupil, day in due}
    plan_ids = [plan.id or 0 for plan, _pupil, _day in due]
    earlier = _earlier_check_ins(session, plan_ids, min(days))
    own = own_encouragements(session, plan_ids)
    absent = set()
    for day in days:
        students = [plan.student_id for plan, _pupil, on in due if on == day]
        absent |= {(student, day) for student in _reported_absent(session, students, day)}
    wanted = []
    for plan, pupil, day in due:
        if (plan.student_id, day) in absent:
            continue  # a sick child gets no push
        sent = earlier.get(plan.id or 0, [])
        if sent and sent[-1][0] == day:
            continue  # sent already
        before = [c for c in sent if c[0] < day]
        texts = len(ENCOURAGEMENTS) + len(own.get(plan.id or 0, []))
        used = {message for _day, message in before}
        unsent = [i for i in range(len(ENCOURAGEMENTS), texts) if i not in used]
        index = encouragement(len(before), texts, before[-1][1] if before else None, unsent)
        wanted.append((plan, pupil, day, index))
    opened = open_check_ins(session, [(plan.id or 0, day, index)
                                      for plan, _pupil, day, index in wanted], now)
    messages = []
    for plan, pupil, day, index in wanted:
        check_in = opened.get((plan.id or 0, day))
        if check_in is None:
            continue  # sent already
        language = pupil.language
        first_name = pupil.name.split()[0] if pupil.name else ""
        lines = [morning_text(index, own.get(plan.id or 0, []), language, first_name)]
        if plan.goal:
            lines.append(gettext_for(language, "Today's goal: {goal}", goal=plan.goal))
        lines.append(gettext_for(language, "How does today look?"))
        messages.append({**about(MessageKind.MORNING, student_id=plan.student_id, day=day),
                         "dedupe_key": f"plan-morning:{plan.id}:{day.isoformat()}",
                         "recipient_id": pupil.id, "channel": AUTO, "language": language,
                         "text": "\n".join(lines),
                         "choices": check_in_choices(language, check_in)})
    return len(enqueue_many(session, messages, now=now))


def morning_text(index: int, own: list[str], language: str, first_name: str) -> str:
    """The encouragement `index`: one of ours in the student's language, then the mentor's
    own texts as written."""
    if index < len(ENCOURAGEMENTS):
        return gettext_for(language, ENCOURAGEMENTS[index], name=first_name)
    return own[index - len(ENCOURAGEMENTS)] if index - len(ENCOURAGEMENTS) < len(own) else (
        gettext_for(language, ENCOURAGEMENTS[0], name=first_name))


def _earlier_check_ins(session: Session, plan_ids: list[int],
                       today: date) -> dict[int, list[tuple[date, int]]]:
    """Per plan, (day, encouragement) of its check-ins up to `today`, oldest first."""
    found: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for part in chunks(plan_ids):
        for plan_id, day, message in session.execute(
            select(col(PlanCheckIn.plan_id), col(PlanCheckIn.day), col(PlanCheckIn.message))
            .where(col(PlanCheckIn.plan_id).in_(part), col(PlanCheckIn.day) <= today)
            .order_by(col(PlanCheckIn.plan_id), col(PlanCheckIn.day))
        ).all():
            found[plan_id].append((day, message))
    return found


def alert_silent_check_ins(session: Session, now: datetime) -> int:
    """No answer by the set time (30 minutes before the first lesson): the adult is told."""
    told = 0
    schools = SchoolsNow(session, now)
    for check_in, plan, school in session.execute(
        select(PlanCheckIn, ReturnPlan, School)
        .join(ReturnPlan, col(ReturnPlan.id) == PlanCheckIn.plan_id)
        .join(Student, col(Student.id) == ReturnPlan.student_id)
        .join(School, col(School.id) == Student.school_id)
        .where(col(PlanCheckIn.answer).is_(None), col(PlanCheckIn.alerted_at).is_(None),
               ReturnPlan.status == "active")
    ).all():
        at = schools.get(school)
        if at is not None and check_in.day == at.today and plan_days(
                plan, school).silent_since(at.local):
            told += alert(session, plan, check_in, "silent", now)
            note_guardians(session, plan, check_in, "silent", now)
    return told


def evaluate_return_plans(session: Session, now: datetime) -> int:
    """On the evaluation day the mentor gets the evaluation task, with the plan period's
    attendance, and can extend or end the plan."""
    queued = 0
    schools = SchoolsNow(session, now)
    for plan, student, school in session.execute(
        select(ReturnPlan, Student, School)
        .join(Student, col(Student.id) == ReturnPlan.student_id)
        .join(School, col(School.id) == Student.school_id)
        .where(ReturnPlan.status == "active", col(ReturnPlan.followup_on).is_not(None))
    ).all():
        at = schools.get(school)
        day = plan.followup_on
        if at is None or day is None or at.today < day or (
                at.today == day and at.clock < EVALUATE_AT):
            continue
        mentor = session.get(Person, plan.mentor_id or plan.trusted_adult_id or 0)
        if mentor is None:
            continue
        task_id, new = add_task(session, dedupe_key=f"plan-eval:{plan.id}:{day.isoformat()}",
                                school_id=school.id or 0, student_id=student.id,
                                assignee=mentor, kind="evaluate_plan", now=now)
        if not new:
            continue
        school_days = at.calendar.school_days(plan.starts_on, min(day, at.today))
        absent = absent_days(session, student.id or 0, plan.starts_on, day)
        at_school = len([d for d in school_days if d not in absent])
        language = mentor.language
        queued += enqueue(
            session, dedupe_key=f"plan-eval:{plan.id}:{day.isoformat()}",
            kind=MessageKind.PLAN, student_id=plan.student_id, day=day, task_id=task_id,
            recipient_id=mentor.id, channel=AUTO, language=language, now=now,
            text=gettext_for(
                language,
                # Translators: to the mentor on the plan's evaluation day; {present} of
                # {days}: school days at school during the plan; {first}: its start.
                "Time to evaluate the return plan for {student}: at school {present} of "
                "{days} school days since {first}.", student=student_label(session, student),
                present=at_school, days=len(school_days),
                first=format_day(plan.starts_on, language).rstrip(".")),
            choices=[{"key": f"{EXTEND}{plan.id}",
                      "label": gettext_for(language, "Go on for 2 more weeks")},
                     {"key": f"{END}{plan.id}", "label": gettext_for(language, "End the plan")}],
        )
    return queued


def _reported_absent(session: Session, students: list[int], day: date) -> set[int]:
    """Which of the students are reported absent on `day` (a report, or the roll call)."""
    found = set(reports_for_day(session, students, day))
    for part in chunks(students):
        found.update(session.execute(select(Absence.student_id).where(
            col(Absence.student_id).in_(part), Absence.day == day, Absence.kind == "absent",
            Absence.state == "reported")).scalars())
    return found
