"""The guardians' say in a return plan's messages to their child: told when a plan starts,
they can ask the school not to message the child (and allow it again), from the note's
button or with `/plan`. The student's mentor and trusted adult hear of it at once.

An adult student decides for themselves: their guardians get neither the note nor the say.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.messages import Choice, Context, Reply
from locales import gettext_for
from locales.formats import first_name
from policy.choices import PlanOff, PlanOn
from policy.routing import AUTO
from storage.models import Person, Student
from storage.outbox import MessageKind, enqueue
from storage.people import Roles
from storage.reports import mentors_of
from storage.return_plans import active_plan, set_messages_off
from storage.tasks import student_label


def act(context: Context) -> Reply:
    """A guardian asks the school not to message their child, or allows it again."""
    session, person, now, key = context.session, context.person, context.now, context.choice
    off = isinstance(key, PlanOff)
    wanted = key.student if isinstance(key, PlanOff | PlanOn) else None
    found = next(((student, child) for student, child in context.roles.children
                  if student.id == wanted and not student.adult), None)
    if found is None:
        return Reply(gettext_for(person.language, "That question is no longer open."))
    student, child = found
    if set_messages_off(session, student, off, by=person.id, now=now):
        _tell_staff(session, student, person, off, now)
    return _state(person, student, child)


def guardian_view(session: Session, person: Person, roles: Roles) -> Reply:
    """`/plan` from a guardian: which children have a return plan, and whether the school
    may message them."""
    shown = [(student, child) for student, child in roles.children
             if not student.adult and active_plan(session, student.id or 0) is not None]
    if not shown:
        return Reply(gettext_for(person.language, "None of your children has a return plan."))
    replies = [_state(person, student, child) for student, child in shown]
    return Reply("\n".join(r.text for r in replies),
                 tuple(choice for r in replies for choice in r.choices))


def _state(person: Person, student: Student, child: Person) -> Reply:
    language, name = person.language, first_name(child.name)
    if student.messages_off:
        return Reply(gettext_for(language, "The school does not message {child}.", child=name),
                     (Choice(PlanOn(student.id or 0), gettext_for(
                         language, "Allow messages to {child}", child=name)),))
    return Reply(gettext_for(language, "{child} gets the return plan's morning messages.",
                             child=name),
                 (Choice(PlanOff(student.id or 0), gettext_for(
                     language, "No messages to {child}", child=name)),))


def _tell_staff(session: Session, student: Student, guardian: Person, off: bool,
                now: datetime) -> int:
    """The mentors and the plan's trusted adult hear a guardian's word at once."""
    plan = active_plan(session, student.id or 0)
    staff = {p.id: p for p in mentors_of(session, student.id or 0)}
    if plan is not None and plan.trusted_adult_id:
        adult = session.get(Person, plan.trusted_adult_id)
        if adult is not None:
            staff.setdefault(adult.id, adult)
    label = student_label(session, student)
    queued = 0
    for member in staff.values():
        language = member.language
        text = (gettext_for(language, "{guardian} (guardian) has asked the school not to "
                                      "message {student}: no more morning messages. Please "
                                      "talk to the family.", guardian=guardian.name,
                            student=label) if off else
                gettext_for(language, "{guardian} (guardian) allows the school to message "
                                      "{student} again: the morning messages start again.",
                            guardian=guardian.name, student=label))
        queued += enqueue(
            session, dedupe_key=f"plan-consent:{student.id}:{member.id}:{now.isoformat()}",
            kind=MessageKind.PLAN, student_id=student.id,
            recipient_id=member.id, channel=AUTO, language=language, now=now, text=text)
    return queued
