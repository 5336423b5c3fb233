"""`/concern <name>`: a staff member says what worries them about a student — the warning
signals they saw (buttons from the plan's list), and a short note — and the student's
mentor gets it as a task at once. The concern moves the plans that wait on it (Lyngen's
steps 2–4, the Danish process); a button closes it.

Any staff member of the student's school can raise one (a subject teacher notices first);
only the mentor, principal or coordinator sees the student's concern and can close it.
The note is health-sensitive: it reaches the mentors, never a log.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from handlers.messages import Choice, Context, Reply
from handlers.student_view import own_student, visible_student
from locales import gettext_for
from locales.formats import SIGNAL_LABELS, signal_names
from policy.choices import (
    Cancel,
    ConcernAdd,
    ConcernClose,
    ConcernSend,
    ConcernSignal,
    TaskDone,
)
from policy.concerns import MAX_NOTE, SIGNALS
from policy.freetext import match_child
from policy.routing import AUTO
from policy.text import one_line
from storage.concerns import add_concern_note, close_concern, open_concern
from storage.conversations import clear_state, set_state
from storage.models import Person, School, Student
from storage.outbox import MessageKind, enqueue
from storage.people import Roles
from storage.reports import mentors_of
from storage.schools import policy_of
from storage.tasks import add_task, student_label

COMMAND = "/concern"
DIALOG = "concern"
SIGNALS_STEP = "signals"
#: The concern's buttons: close it, add to an open one, toggle a signal, send.
KINDS = (ConcernClose, ConcernAdd, ConcernSignal, ConcernSend)


def handle(context: Context) -> Reply:
    """Start telling what worries the person about the student named after the command."""
    session, person, roles, text, now = (context.session, context.person, context.roles,
                                         context.text, context.now)
    language = person.language
    name = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    if not name:
        return Reply(gettext_for(language, "Write /concern and a name, for example "
                                           "/concern Ali."))
    student = _school_student(session, person, roles, name)
    if isinstance(student, Reply):
        return student
    if open_concern(session, student.id or 0) is not None and _sees(session, person, roles,
                                                                    student):
        label = student_label(session, student)
        return Reply(gettext_for(language, "There is already a concern for {student}.",
                                 student=label), (
            Choice(ConcernAdd(student.id or 0), gettext_for(language, "Add what you noticed")),
            Choice(ConcernClose(student.id or 0), gettext_for(language, "Close the concern"))))
    return _ask(session, person, student, [], None, now)


def act(context: Context) -> Reply:
    """A concern's button: a signal toggled, what was chosen sent, adding to or closing."""
    session, person, roles, now, key = (context.session, context.person, context.roles,
                                        context.now, context.choice)
    if isinstance(key, ConcernClose):
        return close(session, person, roles, key.student, now=now)
    language = person.language
    if isinstance(key, ConcernAdd):
        student = visible_student(session, person, roles, key.student)
        if student is None:
            return Reply(gettext_for(language, "This is for school staff."))
        return _ask(session, person, student, [], None, now)
    state = context.state
    data = state.data if state is not None and state.dialog == DIALOG else None
    pupil = session.get(Student, int(data["student"])) if data else None
    if data is None or pupil is None:
        return Reply(gettext_for(language, "That question is no longer open."))
    signals = [str(s) for s in data.get("signals", [])]
    note = data.get("note")
    if isinstance(key, ConcernSignal):
        signal = key.signal
        if signal in SIGNALS:
            signals = ([s for s in signals if s != signal] if signal in signals
                       else [*signals, signal])
        return _ask(session, person, pupil, signals, note, now)
    return _send(session, person, roles, pupil, signals, note, now)


def write(context: Context) -> Reply:
    """A note written while telling what worries the person (it replaces an earlier one)."""
    session, person, text, now = context.session, context.person, context.text, context.now
    data = context.state.data if context.state else {}
    student = session.get(Student, int(data.get("student", 0)))
    if student is None:
        clear_state(session, person.id or 0)
        return Reply(gettext_for(person.language, "That question is no longer open."))
    note = one_line(text)
    if len(note) > MAX_NOTE:
        return Reply(gettext_for(person.language, "That is {length} characters; keep it "
                                                  "under {limit}.", length=len(note),
                                 limit=MAX_NOTE))
    return _ask(session, person, student, [str(s) for s in data.get("signals", [])],
                note or None, now)


def close(session: Session, person: Person, roles: Roles, student_id: int, *,
          now: datetime) -> Reply:
    """Close the concern about one of the person's own students."""
    language = person.language
    student = visible_student(session, person, roles, student_id)
    if student is None:
        return Reply(gettext_for(language, "This is for school staff."))
    label = student_label(session, student)
    if not close_concern(session, student.id or 0, by=person.id, now=now):
        return Reply(gettext_for(language, "There is no open concern for {student}.",
                                 student=label))
    return Reply(gettext_for(language, "The concern for {student} is closed.", student=label))


def _ask(session: Session, person: Person, student: Student, signals: list[str],
         note: str | None, now: datetime) -> Reply:
    language = person.language
    set_state(session, person.id or 0, dialog=DIALOG, step=SIGNALS_STEP,
              data={"student": student.id, "signals": signals, "note": note}, now=now)
    lines = [gettext_for(language, "What have you noticed about {student}? Choose what fits "
                                   "(several can), write a short note if you like, then "
                                   "Send.", student=student_label(session, student))]
    if note:
        lines.append(gettext_for(language, "Note: {note}", note=note))
    offered = _offered(session, student)
    choices = [Choice(ConcernSignal(s),
                      ("✓ " if s in signals else "") + gettext_for(language, SIGNAL_LABELS[s]))
               for s in offered]
    choices += [Choice(ConcernSend(), gettext_for(language, "Send")),
                Choice(Cancel(), gettext_for(language, "Cancel"))]
    return Reply("\n".join(lines), tuple(choices))


def _send(session: Session, person: Person, roles: Roles, student: Student,
          signals: list[str], note: str | None, now: datetime) -> Reply:
    language = person.language
    clear_state(session, person.id or 0)
    if not signals and not note:
        return _ask(session, person, student, signals, note, now)
    row, new = add_concern_note(session, student.id or 0, by=person.id, source="staff",
                                signals=signals, note=note, now=now)
    label = student_label(session, student)
    mentors = mentors_of(session, student.id or 0)
    for mentor in mentors:
        if mentor.id == person.id:
            continue
        tell_mentor(session, mentor, student, row.id or 0, now, gettext_for(
            mentor.language,
            # Translators: to a student's mentor; {raiser}: a colleague; {signals}: what they
            # noticed ("Tiredness, Low mood"); the note follows on its own line.
            "{raiser} is concerned about {student}: {signals}. Please talk with the student "
            "and the guardians.", raiser=person.name, student=label,
            signals=signal_names(signals, mentor.language) or "-"), note)
    if _sees(session, person, roles, student):
        close_button = (Choice(ConcernClose(student.id or 0),
                               gettext_for(language, "Close the concern")),)
        if new:
            return Reply(gettext_for(
                language,
                # Translators: to staff; {student}: "Name (class)". The plan's next step follows.
                "Concern noted for {student}. The plan's next step follows.", student=label),
                close_button)
        return Reply(gettext_for(language, "Added to the concern for {student}.",
                                 student=label), close_button)
    return Reply(gettext_for(language, "Thank you. {names} (mentor) will follow up.",
                             names=", ".join(m.name for m in mentors) or "-"))


def tell_mentor(session: Session, mentor: Person, student: Student, note_id: int,
                now: datetime, text: str, note: str | None) -> int:
    """The mentor's task about a concern someone raised, and its message with I'll call."""
    task_id, _new = add_task(session, dedupe_key=f"concern:{note_id}:{mentor.id}",
                             school_id=student.school_id, student_id=student.id,
                             assignee=mentor, kind="concern", now=now)
    if note:
        text += "\n" + gettext_for(mentor.language, "Note: {note}", note=note)
    return enqueue(session, dedupe_key=f"concern:{note_id}:{mentor.id}",
                   kind=MessageKind.CONCERN, student_id=student.id, task_id=task_id,
                   recipient_id=mentor.id, channel=AUTO, language=mentor.language, now=now,
                   text=text, choices=[Choice(TaskDone(task_id), gettext_for(
                       mentor.language, "I'll call")).as_dict()])


def _offered(session: Session, student: Student) -> tuple[str, ...]:
    """The signals the student's school plan lists (all of Ljusnarsberg's by default)."""
    return policy_of(session.get(School, student.school_id)).concern_signals


def _sees(session: Session, person: Person, roles: Roles, student: Student) -> bool:
    return visible_student(session, person, roles, student.id) is not None


def _school_student(session: Session, person: Person, roles: Roles,
                    name: str) -> Student | Reply:
    """One of the person's own students called `name`, or else one of their school's."""
    own = own_student(session, person, roles, name)
    if isinstance(own, Student):
        return own
    schools = {school.id for school, _role in roles.staff}
    found = list(session.execute(
        select(Student, Person.name).join(Person, col(Person.id) == Student.person_id)
        .where(col(Student.school_id).in_(schools))).all())
    index = match_child(name, [student_name for _student, student_name in found],
                        by_name_only=True)
    if index is None:
        return Reply(gettext_for(person.language, "No student at your school is called "
                                                  "{name}.", name=name[:40]))
    return found[index][0]

