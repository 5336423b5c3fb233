"""`/concern <name>`: staff say they are concerned about one of their students, which moves
the plans that wait on concern (Lyngen's steps 2–4, the Danish process); a button closes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.messages import Choice, Reply
from handlers.student_view import own_student, visible_students
from locales import gettext_for
from storage.concerns import close_concern, raise_concern
from storage.models import Person
from storage.people import Roles
from storage.tasks import student_label

COMMAND = "/concern"
#: The button that closes a concern: the student id follows.
CLOSE_KEY = "concern:close:"


def handle(session: Session, person: Person, roles: Roles, text: str, *,
           now: datetime) -> Reply:
    """Raise a concern about the student named after the command (one of the person's own)."""
    language = person.language
    name = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    if not name:
        return Reply(gettext_for(language, "Write /concern and a name, for example "
                                           "/concern Ali."))
    student = own_student(session, person, roles, name)
    if isinstance(student, Reply):
        return student
    label = student_label(session, student)
    close = (Choice(f"{CLOSE_KEY}{student.id}", gettext_for(language, "Close the concern")),)
    if not raise_concern(session, student.id or 0, by=person.id, now=now):
        return Reply(gettext_for(language, "There is already a concern for {student}.",
                                 student=label), close)
    return Reply(gettext_for(
        language,
        # Translators: to staff; {student}: "Name (class)". The plan's next step follows.
        "Concern noted for {student}. The plan's next step follows.", student=label), close)


def close(session: Session, person: Person, roles: Roles, choice: str, *,
          now: datetime) -> Reply:
    """Close the concern about one of the person's own students."""
    language = person.language
    ident = choice.removeprefix(CLOSE_KEY)
    student = next((s for s, _name in visible_students(session, person, roles)
                    if str(s.id) == ident), None)
    if student is None:
        return Reply(gettext_for(language, "This is for school staff."))
    label = student_label(session, student)
    if not close_concern(session, student.id or 0, by=person.id, now=now):
        return Reply(gettext_for(language, "There is no open concern for {student}.",
                                 student=label))
    return Reply(gettext_for(language, "The concern for {student} is closed.", student=label))
