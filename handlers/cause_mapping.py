"""Lyngen's cause mapping ("Årsakskartlegging", seed 004) by chat, before the step-2
meeting: `/mapping <name>` (the student's mentor, principal or coordinator) sends the seven
areas to the student — or, for a student with no phone of their own or whose guardian said
no to the school's messages (a young child), to the guardians — one area per message,
answered 0 %–100 % (by SMS 0–4). The mentor gets the result as one compact summary.

The answers are health-sensitive: they go to the student's mentors only, and no log.
"""

from __future__ import annotations

from sqlmodel import Session

from handlers.messages import Choice, Context, Reply
from handlers.student_view import named_student
from locales import gettext_for
from locales.formats import first_name
from policy.choices import MappingAnswer
from policy.concerns import AREAS, SCALE, heaviest, next_area, scale_percent
from policy.routing import AUTO
from services.cause_mapping import AREA_LABELS
from services.return_plans import may_message
from storage.cause_mapping import record_area, start_mapping
from storage.models import CauseMapping, Person, Student
from storage.outbox import MessageKind, enqueue
from storage.reports import mentors_of, recipients_by_student
from storage.tasks import student_label

COMMAND = "/mapping"


def handle(context: Context) -> Reply:
    """`/mapping <name>`: send the mapping about one of the person's own students."""
    session, person, roles, text, now = (context.session, context.person, context.roles,
                                         context.text, context.now)
    language = person.language
    student = named_student(session, person, roles, text, gettext_for(
        language, "Write /mapping and a name, for example /mapping Ali."))
    if isinstance(student, Reply):
        return student
    label = student_label(session, student)
    pupil = session.get(Person, student.person_id)
    if pupil is not None and may_message(student, pupil):
        respondents = [pupil]
    else:
        respondents = recipients_by_student(session, [student]).get(student.id or 0, [])
    if not respondents:
        return Reply(gettext_for(language, "Neither {student} nor a guardian can be reached "
                                           "by phone or Telegram.", student=label))
    for respondent in respondents:
        mapping = start_mapping(session, student_id=student.id or 0,
                                respondent_id=respondent.id or 0, by=person.id, now=now)
        about = "" if respondent.id == student.person_id else first_name(
            pupil.name if pupil else "")
        question = _question(mapping, respondent.language)
        # The introduction goes alone: with the first question and its numbered answers it
        # would not fit three SMS segments in every language.
        enqueue(session, dedupe_key=f"mapping:{mapping.id}:intro", recipient_id=respondent.id,
                kind=MessageKind.MAPPING, student_id=student.id,
                channel=AUTO, language=respondent.language, now=now,
                text=_introduction(respondent.language, about))
        enqueue(session, dedupe_key=f"mapping:{mapping.id}:start", recipient_id=respondent.id,
                kind=MessageKind.MAPPING, student_id=student.id,
                channel=AUTO, language=respondent.language, now=now, text=question.text,
                choices=[c.as_dict() for c in question.choices])
    names = ", ".join(r.name for r in respondents)
    return Reply(gettext_for(language, "The cause mapping is sent to {names}. You get the "
                                       "answers when all seven are in.", names=names))


def answer(context: Context) -> Reply:
    """One area answered; the next area, or thanks and the summary to the mentors."""
    session, person, now = context.session, context.person, context.now
    key = context.key(MappingAnswer)
    language = person.language
    area, value = key.area, key.value
    mapping = session.get(CauseMapping, key.mapping)
    if (mapping is None or mapping.respondent_id != person.id or mapping.finished_at
            is not None or area not in AREAS or not 0 <= value < len(SCALE)):
        return Reply(gettext_for(language, "That question is no longer open."))
    student = session.get(Student, mapping.student_id)
    if student is None:
        return Reply(gettext_for(language, "That question is no longer open."))
    if not record_area(session, mapping, area, value, now):
        return _question(mapping, language)
    mentors = mentors_of(session, student.id or 0)
    for mentor in mentors:
        enqueue(session, dedupe_key=f"mapping:{mapping.id}:summary:{mentor.id}",
                kind=MessageKind.MAPPING, student_id=student.id,
                recipient_id=mentor.id, channel=AUTO, language=mentor.language, now=now,
                text=summary(session, mapping, student, person, mentor.language),
                attachment={"chart": chart(mapping, student_label(session, student),
                                           person.name, mentor.language)})
    return Reply(gettext_for(language, "Thank you! That helps a lot. {names} will go through "
                                       "it with you.",
                             names=", ".join(m.name for m in mentors) or "-"))


def summary(session: Session, mapping: CauseMapping, student: Student, respondent: Person,
            language: str) -> str:
    """The mapping in a few lines for the mentor: the areas heaviest first, as bars."""
    lines = [gettext_for(language, "Cause mapping for {student}, answered by {name}:",
                         student=student_label(session, student), name=respondent.name)]
    for area in heaviest(mapping.answers):
        share = mapping.answers[area]
        bar = "■" * share + "□" * (len(SCALE) - 1 - share)
        lines.append(f"{bar} {scale_percent(share)} % {gettext_for(language, AREA_LABELS[area])}")
    return "\n".join(lines)


def chart(mapping: CauseMapping, label: str, respondent: str,
          language: str) -> dict[str, object]:
    """The mapping as a picture for Telegram: one bar per area, heaviest first, 0–100 %."""
    areas = heaviest(mapping.answers)
    return {"title": label, "panels": [{
        "title": gettext_for(language, "Cause mapping for {student}, answered by {name}:",
                             student=label, name=respondent).rstrip(":"),
        "labels": [gettext_for(language, AREA_LABELS[area]) for area in areas],
        "series": [{"name": "", "values": [scale_percent(mapping.answers[a]) for a in areas]}],
        "unit": " %", "max": 100}]}


def _introduction(language: str, about: str) -> str:
    if about:
        return gettext_for(
            language,
            # Translators: to a guardian; {child}: first name. Seed 004's introduction.
            "The school wants to understand what makes school hard for {child}, so that we can "
            "help. Seven short questions: how much does each fit {child}?", child=about)
    return gettext_for(
        language,
        # Translators: to a student (often a teenager); seed 004: "you hold the most important
        # information".
        "We want to understand what makes school hard for you, so that we can help. You hold "
        "the most important information. Seven short questions: how much does each fit you? "
        "Be as honest as you can.")


def _question(mapping: CauseMapping, language: str) -> Reply:
    area = next_area(mapping.answers) or AREAS[-1]
    number = AREAS.index(area) + 1
    return Reply(
        f"{number}/{len(AREAS)} {gettext_for(language, AREA_LABELS[area])}",
        tuple(Choice(MappingAnswer(mapping.id or 0, area, index), f"{percent} %")
              for index, percent in enumerate(SCALE)))
