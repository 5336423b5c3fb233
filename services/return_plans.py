"""Return plans' use cases shared by the chats, the morning sweeps and the command line:
whether the student can be messaged, the morning check-in's answers, the alert to the trusted
adult, the guardians' note and their word on the messages, and telling a new trusted adult.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from locales import N_, gettext_for
from locales.formats import first_name, format_day
from policy.choices import CheckIn, PlanEnd, PlanExtend, PlanOff, TaskDone
from policy.return_plan import ANSWERS, COMING, HELP, LATER, NOT_TODAY
from policy.routing import AUTO
from storage.models import Person, PlanCheckIn, ReturnPlan, Student
from storage.outbox import MessageKind, enqueue
from storage.reports import recipients_by_student
from storage.tasks import add_task, student_label

#: Ending the plan, or going on after its evaluation: their data's stems, for the morning
#: sweep's evaluation buttons (the typed keys are policy.choices.PlanEnd and PlanExtend).
END, EXTEND = PlanEnd.stem(), PlanExtend.stem()


def reachable(person: Person) -> bool:
    """Whether the student can get the morning message: their own phone or Telegram."""
    return bool(person.phone or person.telegram_user_id)


def may_message(student: Student, pupil: Person) -> bool:
    """Whether the school may message the student directly: they can be reached, and no
    guardian said no (an adult student decides for themselves)."""
    return reachable(pupil) and (student.adult or not student.messages_off)


def unreachable_because(student: Student, pupil: Person, language: str,
                        label: str) -> str | None:
    """Why the morning messages cannot go to the student, if they cannot: no phone or
    Telegram of their own, or a guardian said no (for a student under 18)."""
    if not reachable(pupil):
        return gettext_for(
            language, "{student} has no phone or Telegram of their own in the roster, so the "
                      "morning messages cannot reach them.", student=label)
    if student.messages_off and not student.adult:
        return gettext_for(
            language, "A guardian of {student} has asked the school not to message them, so "
                      "there can be no morning messages.", student=label)
    return None


def announce(session: Session, plan: ReturnPlan, now: datetime) -> int:
    """Tell the guardians of a student under 18 that a plan has started, what their child
    will get, and how to say no."""
    student = session.get(Student, plan.student_id)
    child = session.get(Person, student.person_id) if student else None
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    if student is None or child is None or student.adult:
        return 0
    name = first_name(child.name)
    queued = 0
    for guardian in recipients_by_student(session, [student]).get(student.id or 0, []):
        language = guardian.language
        queued += enqueue(
            session, dedupe_key=f"plan-start:{plan.id}:{guardian.id}", recipient_id=guardian.id,
            kind=MessageKind.PLAN, student_id=student.id,
            channel=AUTO, language=language, now=now,
            text=gettext_for(
                language,
                # Translators: to a guardian. {child}: first name; {first}: a date; {time}:
                # 07:15; {adult}: the staff member who follows up (often the mentor).
                "The school has started a return plan for {child}. On school days from "
                "{first}, {child} gets a short, kind message at {time} asking how the day "
                "looks. {adult} follows up. You can say no to these messages.", child=name,
                time=f"{plan.morning_time:%H:%M}",
                first=format_day(plan.starts_on, language).rstrip("."),
                adult=adult.name if adult else "-"),
            choices=[{"key": PlanOff(student.id or 0).pack(),
                      "label": gettext_for(language, "No messages to {child}", child=name)}])
    return queued


def note_guardians(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, answer: str,
                   now: datetime) -> int:
    """With the plan's guardian note, the guardians of a student under 18 hear how the
    morning check-in went (the answer, or that none came and the school was told)."""
    student = session.get(Student, plan.student_id)
    if not plan.guardian_note or student is None or student.adult:
        return 0
    child = session.get(Person, student.person_id)
    first_name = child.name.split()[0] if child and child.name else ""
    queued = 0
    for guardian in recipients_by_student(session, [student]).get(student.id or 0, []):
        language = guardian.language
        if answer in ANSWERS:
            label = check_in_labels(language)[answer]
            # Translators: to a guardian of a student on a return plan; {child}: first name;
            # {answer}: the button the student tapped ("I'm coming").
            text = gettext_for(language, "{child} answered this morning's check-in: {answer}.",
                               child=first_name, answer=label)
        else:
            text = gettext_for(language, "{child} has not answered this morning's check-in. "
                                         "The school has been told.", child=first_name)
        queued += enqueue(session, dedupe_key=f"plan-note:{check_in.id}:{guardian.id}:{answer}",
                          kind=MessageKind.PLAN, student_id=student.id, day=check_in.day,
                          recipient_id=guardian.id, channel=AUTO, language=language, now=now,
                          text=text)
    return queued


def check_in_choices(language: str, check_in_id: int) -> list[dict[str, str]]:
    """The morning check-in's four answers."""
    labels = check_in_labels(language)
    return [{"key": CheckIn(check_in_id, answer).pack(), "label": labels[answer]}
            for answer in ANSWERS]


def check_in_labels(language: str) -> dict[str, str]:
    """The check-in's answers as its buttons say them, in `language`."""
    return {COMING: gettext_for(language, "I'm coming"),
            LATER: gettext_for(language, "I'm coming later"),
            HELP: gettext_for(language, "I need help"),
            NOT_TODAY: gettext_for(language, "Not today")}


def alert(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, why: str,
          now: datetime, words: str | None = None) -> int:
    """Tell the trusted adult at once: the student needs help, stays home, or is silent
    (with `words`: what the student wrote, on a line of its own)."""
    check_in.alerted_at = now
    session.add(check_in)
    if why == HELP:
        says = N_("{student} needs help this morning (return plan). Please make contact.")
    elif why == NOT_TODAY:
        says = N_("{student} says they are not coming today (return plan). Please make "
                  "contact.")
    else:
        says = N_("{student} has not answered this morning's check-in (return plan). Please "
                  "make contact.")
    return _to_adult(session, plan, check_in, f"plan-alert:{check_in.id}", says, words, now)


def pass_words(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, words: str,
               ref: str, now: datetime) -> int:
    """What the student wrote after answering the day's check-in, to the trusted adult at
    once, with the day's task to make contact (`ref`: the student's message)."""
    return _to_adult(session, plan, check_in, f"plan-words:{check_in.id}:{ref}"[:200],
                     N_("{student} wrote after this morning's check-in (return plan). Please "
                        "make contact."), words, now)


def _to_adult(session: Session, plan: ReturnPlan, check_in: PlanCheckIn, key: str, says: str,
              words: str | None, now: datetime) -> int:
    """`says` (about {student}) to the plan's trusted adult, with the student's `words` on a
    line of their own, and the day's task to make contact with its *I'll call*."""
    adult = session.get(Person, plan.trusted_adult_id or plan.mentor_id or 0)
    student = session.get(Student, plan.student_id)
    if adult is None or student is None:
        return 0
    language = adult.language
    task_id, _new = add_task(session, dedupe_key=f"plan-alert:{check_in.id}",
                             school_id=student.school_id, student_id=student.id,
                             assignee=adult, kind="plan_alert", now=now)
    text = gettext_for(language, says, student=student_label(session, student))
    if words:
        text += "\n" + _their_words(language, words)
    return enqueue(session, dedupe_key=key, recipient_id=adult.id, kind=MessageKind.PLAN_ALERT,
                   student_id=student.id, day=check_in.day, task_id=task_id, channel=AUTO,
                   language=language, now=now, text=text,
                   choices=[{"key": TaskDone(task_id).pack(),
                             "label": gettext_for(language, "I'll call")}])


def _their_words(language: str, words: str) -> str:
    # Translators: to the trusted adult; {words}: what the student wrote, as they wrote it.
    return gettext_for(language, "In their words: “{words}”", words=words)


def tell_trusted_adult(session: Session, plan: ReturnPlan, adult: Person,
                       now: datetime) -> int:
    """Tell the newly named trusted adult what that means."""
    student = session.get(Student, plan.student_id)
    if student is None:
        return 0
    return enqueue(session, dedupe_key=f"plan-adult:{plan.id}:{adult.id}:{now.isoformat()}",
                   kind=MessageKind.PLAN, student_id=student.id,
                   recipient_id=adult.id, channel=AUTO, language=adult.language, now=now,
                   text=gettext_for(
                       adult.language,
                       # Translators: to a staff member named in a student's return plan.
                       "You are now the trusted adult in the return plan for {student}: you "
                       "hear at once when the student needs help, stays home or does not "
                       "answer the morning check-in.", student=student_label(session, student)))
