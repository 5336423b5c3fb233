"""A leave application's use cases shared by the chat (handlers.leave), the escalation sweep
(scheduler.leave) and the command line (`narvaro leave decide`): the application as its
decider reads it, with the decision buttons; sending it to the decider; deciding days and
telling the guardian; a decider's question to the guardian and the answer back; the
applicant taking an application back.

The applicant's words go to the deciders only; the guardian hears the decision in their
own language, with the days.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from locales import N_, gettext_for
from locales.formats import first_name, format_days, format_span
from policy.choices import LeaveDecision
from policy.ladder import term_of
from policy.leave import GRANTED, PENDING
from policy.routing import AUTO
from storage.leave import (
    absence_counts,
    calendar_events,
    days_of,
    decide,
    withdraw,
    withdrawable,
)
from storage.models import LeaveApplication, Person, School, Student
from storage.outbox import MessageKind, enqueue
from storage.schools import school_calendar
from storage.tasks import student_label

MAX_QUESTION = 300
EVENT_LABELS = {
    "exam": N_("National exam"), "tests": N_("Test week"), "event": N_("School event"),
    "term_start": N_("Term starts"),
}
REFUSAL_LABELS = {
    "exam": N_("National exams in the period"), "tests": N_("Tests in the period"),
    "absence": N_("Too much absence this term"), "other": N_("Another reason"),
}


def student_text(session: Session, application: LeaveApplication) -> str:
    """The application's student as staff read it: "Name (class)"."""
    student = session.get(Student, application.student_id)
    return student_label(session, student) if student else "-"


def child_name(session: Session, application: LeaveApplication) -> str:
    """The first name of the application's child."""
    student = session.get(Student, application.student_id)
    child = session.get(Person, student.person_id) if student else None
    return first_name(child.name) if child else "-"


def events_text(session: Session, application: LeaveApplication, language: str,
                days: list[date] | None = None) -> str:
    """What the school calendar has in the application's period (or on `days`)."""
    student = session.get(Student, application.student_id)
    if student is None:
        return ""
    first = min(days) if days else application.first_day
    last = max(days) if days else application.last_day
    lines = []
    for kind, name, start, end in calendar_events(session, student.school_id, first, last):
        label = gettext_for(language, EVENT_LABELS.get(kind, EVENT_LABELS["event"]))
        when = format_span(start, end, None, None, language).rstrip(".")
        lines.append(f"{label}: {name} ({when})" if name else f"{label} ({when})")
    return "; ".join(lines)


def decider_text(session: Session, application: LeaveApplication, language: str, *,
                 lead: str | None = None, now: datetime | None = None) -> str:
    """The application as its decider reads it: the student, the days, the applicant's
    words, the absence this term, and what the school calendar has in the period."""
    student = session.get(Student, application.student_id)
    applicant = session.get(Person, application.applicant_id)
    school = session.get(School, student.school_id) if student else None
    days = [row.day for row in days_of(session, application.id or 0)]
    span = format_span(application.first_day, application.last_day, application.part_start,
                       application.part_end, language).rstrip(".")
    lines = [lead] if lead else []
    lines.append(gettext_for(
        language,
        # Translators: to the staff member who decides. {ref}: L-7K3QF; {student}: "Name
        # (class)"; {days}: the dates; {n}: school days.
        "Leave application {ref}: {student}, {days} ({n} school days).",
        ref=application.reference, student=student_text(session, application), days=span,
        n=len(days)))
    if application.note:
        lines.append(gettext_for(language, "From {name}: “{note}”",
                                 name=applicant.name if applicant else "-",
                                 note=application.note))
    if student is not None and school is not None:
        calendar = school_calendar(session, school)
        today = (now or application.applied_at).astimezone(ZoneInfo(school.timezone)).date()
        term = term_of(calendar, today)
        counts = absence_counts(session, student.id or 0, term.start, today)
        lines.append(gettext_for(
            language,
            # Translators: {days} whole or part days absent this term, of them {unexcused}
            # without a valid reason and {leave} on leave the school granted.
            "Absence this term: {days} days ({unexcused} unexcused, {leave} granted leave).",
            days=counts["days"], unexcused=counts["unexcused"], leave=counts["leave"]))
    events = events_text(session, application, language)
    lines.append(gettext_for(language, "In the period: {events}", events=events) if events
                 else gettext_for(language, "Nothing in the school calendar in the period."))
    return "\n".join(lines)


def decision_keys(application: LeaveApplication,
                  language: str) -> list[tuple[LeaveDecision, str]]:
    """Grant, Refuse, Choose days (with more than one day), Ask a question: keys and
    labels."""
    number = application.id or 0
    keys = [(LeaveDecision("grant", number), gettext_for(language, "Grant")),
            (LeaveDecision("refuse", number), gettext_for(language, "Refuse"))]
    if application.first_day != application.last_day:
        keys.append((LeaveDecision("days", number), gettext_for(language, "Choose days")))
    keys.append((LeaveDecision("ask", number), gettext_for(language, "Ask a question")))
    return keys


def decision_choices(application: LeaveApplication, language: str) -> list[dict[str, str]]:
    """The decision buttons as the outbox stores them."""
    return [{"key": key.pack(), "label": label}
            for key, label in decision_keys(application, language)]


def send_to_decider(session: Session, application: LeaveApplication, *, now: datetime,
                    lead: str | None = None, key: str = "apply") -> bool:
    """Put the application in its decider's chat with the decision buttons (once per
    `key`)."""
    decider = session.get(Person, application.decider_id) if application.decider_id else None
    if decider is None:
        return False
    language = decider.language
    return enqueue(
        session, dedupe_key=f"leave:{key}:{application.id}:{decider.id}",
        kind=MessageKind.LEAVE, student_id=application.student_id,
        recipient_id=decider.id, channel=AUTO, language=language, now=now,
        text=decider_text(session, application, language, lead=lead, now=now),
        choices=decision_choices(application, language))


def tell(session: Session, application: LeaveApplication, person: Person, *, key: str,
         text: str, now: datetime) -> None:
    """Queue a message about `application` to `person` (`text` in their language)."""
    enqueue(session, dedupe_key=key, kind=MessageKind.LEAVE,
            student_id=application.student_id, recipient_id=person.id, channel=AUTO,
            language=person.language, now=now, text=text)


def ask_guardian(session: Session, application: LeaveApplication, applicant: Person,
                 question: str, *, now: datetime) -> None:
    """A decider's question to the applicant, quoted, in the applicant's language."""
    span = format_span(application.first_day, application.last_day, application.part_start,
                       application.part_end, applicant.language).rstrip(".")
    tell(session, application, applicant,
         key=f"leave:question:{application.id}:{now.isoformat()}", now=now,
         text=gettext_for(
             applicant.language,
             # Translators: a decider's question, quoted after the colon.
             "A question from the school about your leave application {ref} for {name} "
             "({days}): {question}\nAnswer by writing here.",
             ref=application.reference, name=child_name(session, application), days=span,
             question=question[:MAX_QUESTION]))


def pass_answer(session: Session, application: LeaveApplication, guardian: Person,
                asker: Person, answer: str, *, now: datetime) -> None:
    """The guardian's answer back to the decider who asked, with the application (and its
    buttons while it is undecided)."""
    language = asker.language
    lead = gettext_for(language, "Answer from {name} about {ref}: “{answer}”",
                       name=guardian.name, ref=application.reference,
                       answer=answer[:MAX_QUESTION])
    enqueue(session, dedupe_key=f"leave:answer:{application.id}:{now.isoformat()}",
            kind=MessageKind.LEAVE, student_id=application.student_id,
            recipient_id=asker.id, channel=AUTO, language=language, now=now,
            text=decider_text(session, application, language, lead=lead, now=now),
            choices=decision_choices(application, language)
            if application.status == PENDING else None)


def settle(session: Session, application: LeaveApplication, *, granted: list[date],
           refused: list[date], by: Person | None, refusal: str | None,
           refusal_note: str | None, now: datetime) -> None:
    """Decide days of the application (`storage.leave.decide`) and tell the applicant, in
    their language, with the days; refused days are said to be unexcused."""
    decided = decide(session, application, granted=granted, refused=refused, by=by,
                     refusal=refusal, refusal_note=refusal_note, now=now)
    applicant = session.get(Person, application.applicant_id)
    if applicant is None or not (decided.granted or decided.refused):
        return
    language = applicant.language
    name = child_name(session, application)
    lines = []
    if decided.granted:
        lines.append(gettext_for(
            language, "Leave granted for {name}: {days}.", name=name,
            days=days_text(application, list(decided.granted), language)))
    if decided.refused:
        lines.append(gettext_for(
            language,
            # Translators: to the guardian; {days}: the refused dates.
            "Leave not granted for {name}: {days}. Absence on those days will be unexcused.",
            name=name, days=days_text(application, list(decided.refused), language)))
        why = (refusal_note or "").strip() or gettext_for(
            language, REFUSAL_LABELS.get(refusal or "other", REFUSAL_LABELS["other"]))
        lines.append(gettext_for(language, "Reason: {reason}", reason=why))
    lines.append(gettext_for(language, "Ref. {ref}.", ref=application.reference))
    enqueue(session, dedupe_key=f"leave:decision:{application.id}:{now.isoformat()}",
            kind=MessageKind.LEAVE, student_id=application.student_id,
            recipient_id=applicant.id, channel=AUTO, language=language, now=now,
            text="\n".join(lines))


def withdraw_application(session: Session, application: LeaveApplication, *,
                         by: Person, now: datetime) -> bool:
    """The applicant takes back an application no day of which is decided: it leaves the
    deciders' lists, and its decider is told (in their language, without the applicant's
    words). False, and nothing done, when the school has decided days of it already."""
    if not withdrawable(session, application):
        return False
    withdraw(session, application, by=by, now=now)
    decider = session.get(Person, application.decider_id) if application.decider_id else None
    if decider is not None:
        tell(session, application, decider,
             key=f"leave:withdrawn:{application.id}:{decider.id}", now=now,
             text=gettext_for(
                 decider.language,
                 # Translators: to the decider; {student}: "Name (class)".
                 "Leave application {ref} ({student}) was withdrawn by the applicant: "
                 "there is nothing to decide.", ref=application.reference,
                 student=student_text(session, application)))
    return True


def days_text(application: LeaveApplication, days: list[date], language: str) -> str:
    """The days, with the hours of a part-day application."""
    text = format_days(sorted(days), language).rstrip(".")
    if application.part_start and application.part_end:
        text += f" {application.part_start:%H:%M}–{application.part_end:%H:%M}"
    return text


def granted_days(session: Session, application: LeaveApplication) -> list[date]:
    """The application's granted days."""
    return [row.day for row in days_of(session, application.id or 0)
            if row.decision == GRANTED]

