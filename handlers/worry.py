"""A guardian's worry: "han vill inte gå till skolan", "hun nekter å gå på skolen", "he
refuses to go to school" written in plain words, or told after the menu's *Something
worries me*. It reaches the child's mentor as a task to call, with the guardian's own words,
and opens a concern (the Danish guidance: "the concern can come from … parents"); it is
never taken as an absence report. See `worry.mmd`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.concern import tell_mentor
from handlers.messages import Choice, Context, Reply, Reportable
from locales import gettext_for
from locales.formats import first_name
from policy.choices import WorryChild
from policy.concerns import MAX_NOTE, says_bullying, says_refusal
from policy.freetext import match_child
from policy.text import one_line
from storage.attendance import NOTICE_DIALOG
from storage.concerns import add_concern_note
from storage.conversations import clear_state, set_state
from storage.models import Person
from storage.reports import mentors_of
from storage.tasks import student_label

DIALOG = "worry"
WORDS, CHILD = "words", "child"


def is_worry(context: Context) -> bool:
    """Whether a guardian's message is a worry: asked for, or said in plain words outside
    any other dialog (an absence notice's question aside): the child refuses school, or is
    bullied."""
    state = context.state
    if state is not None and state.dialog == DIALOG:
        return True
    return (state is None or state.dialog == NOTICE_DIALOG) and (
        says_refusal(context.text) or says_bullying(context.text))


def act(context: Context) -> Reply:
    """*Something worries me* (which child, when several), or the child tapped."""
    session, person, children, now = (context.session, context.person, context.students,
                                      context.now)
    key = context.choice
    language = person.language
    if not children:
        return Reply(gettext_for(language, "That question is no longer open."))
    state = context.state
    words = str(state.data.get("words", "")) if state and state.dialog == DIALOG else ""
    if isinstance(key, WorryChild):
        child = next((c for c in children if c.student.id == key.student), None)
        if child is None:
            return Reply(gettext_for(language, "That question is no longer open."))
        if words:
            return _pass_on(session, person, child, words, now)
        return _ask_words(session, person, child, now)
    clear_state(session, person.id or 0)
    if len(children) == 1:
        return _ask_words(session, person, children[0], now)
    return _ask_child(session, person, children, "", now)


def write(context: Context) -> Reply:
    """The guardian's words: passed on for the child they are about."""
    session, person, children, text, now = (context.session, context.person,
                                            context.students, context.text, context.now)
    language = person.language
    state = context.state
    words = one_line(text)[:MAX_NOTE]
    asked = state.data.get("student") if state and state.dialog == DIALOG else None
    child = next((c for c in children if c.student.id == asked), None)
    if child is None:
        if not children:
            return Reply(gettext_for(language, "That question is no longer open."))
        index = 0 if len(children) == 1 else match_child(text, [c.name for c in children],
                                                         by_name_only=True)
        if index is None:
            return _ask_child(session, person, children, words, now)
        child = children[index]
    if not words:
        return _ask_words(session, person, child, now)
    return _pass_on(session, person, child, words, now)


def _ask_words(session: Session, person: Person, child: Reportable, now: datetime) -> Reply:
    set_state(session, person.id or 0, dialog=DIALOG, step=WORDS,
              data={"student": child.student.id}, now=now)
    mentors = mentors_of(session, child.student.id or 0)
    return Reply(gettext_for(
        person.language,
        # Translators: to a guardian who chose "Something worries me"; {names}: the mentor.
        "Tell us in a few words what worries you about {child}. {names} gets your message and "
        "will call you.", child=first_name(child.name),
        names=", ".join(m.name for m in mentors) or "-"))


def _ask_child(session: Session, person: Person, children: list[Reportable], words: str,
               now: datetime) -> Reply:
    set_state(session, person.id or 0, dialog=DIALOG, step=CHILD, data={"words": words},
              now=now)
    return Reply(gettext_for(person.language, "Which child is it about?"),
                 tuple(Choice(WorryChild(c.student.id or 0), first_name(c.name))
                       for c in children))


def _pass_on(session: Session, person: Person, child: Reportable, words: str,
             now: datetime) -> Reply:
    clear_state(session, person.id or 0)
    student = child.student
    row, _new = add_concern_note(session, student.id or 0, by=person.id, source="guardian",
                                 signals=[], note=words, now=now)
    mentors = mentors_of(session, student.id or 0)
    for mentor in mentors:
        tell_mentor(session, mentor, student, row.id or 0, now, gettext_for(
            mentor.language,
            # Translators: to a mentor; the guardian's own words follow on their own line.
            "{guardian}, guardian of {student}, is worried and asks you to call: {phone}.",
            guardian=person.name, student=student_label(session, student),
            phone=person.phone or "-"), words)
    return Reply(gettext_for(
        person.language, "Thank you for telling us. {names} will call you soon. This is not "
                         "an absence report: if {child} is away from school, report that "
                         "too.", names=", ".join(m.name for m in mentors) or "-",
        child=first_name(child.name)))
