"""The entry point for every inbound message from a known person, whatever the channel.

It routes a message to the dialog in progress, a command, a button, or a new
absence report, and puts the answers in the outbox on the same channel.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlmodel import Session

from handlers import (
    action_plan,
    cause_mapping,
    concern,
    leave,
    meeting_booking,
    my_reports,
    plan_settings,
    report_dialog,
    return_plan,
    roll_call,
    student_view,
    task_actions,
    worry,
)
from handlers import language as language_dialog
from handlers.mentor_notices import TASK_DONE, mark_task_done, notify_notice_answered
from handlers.menu import (
    GREETING_WORDS,
    HELP_WORDS,
    REPORT,
    REPORTS,
    TASKS,
    can_report,
    handle_menu,
    menu_choices,
)
from handlers.messages import Incoming, Reply
from handlers.report_dialog import Reportable
from handlers.task_actions import is_task_action
from locales import gettext_for
from policy.freetext import is_cancel, is_undo, parse_yes_no
from policy.text import clean_text
from storage.attendance import NOTICE_DIALOG, NOTICE_KEY, record_notice_answer
from storage.conversations import clear_state, get_state
from storage.inbound import mark_seen
from storage.models import ConversationState, OutboxMessage, Person
from storage.outbox import enqueue_row
from storage.people import Roles, roles_of

log = logging.getLogger(__name__)
MAX_TEXT = 1000
START, REPORT_COMMAND, REPORTS_COMMAND = "/start", "/report", "/reports"
TASKS_COMMAND = "/tasks"
NOTICE_ANSWER_WINDOW = timedelta(hours=16)
#: Thanks in every shipped language (as typed, lowercase): answered kindly, nothing recorded.
THANKS_WORDS = ("tack", "takk", "tak", "thank", "thx", "شكر", "mahadsan", "የቐንየ", "ممنون",
                "مرسی", "дякую", "dzięk", "dziek")


def handle_incoming(
    session: Session, incoming: Incoming, *, now: datetime, claim: bool = False
) -> list[OutboxMessage]:
    """Answer `incoming` once: a replayed message (same channel and `ref`) is skipped.

    Returns the answers queued (claimed for sending by the caller when `claim`).
    """
    person = session.get(Person, incoming.person_id)
    if person is None:
        raise LookupError(f"no person {incoming.person_id}")
    incoming = replace(incoming, ref=clean_text(incoming.ref)[:64])
    if not mark_seen(session, channel=incoming.channel, ref=incoming.ref, now=now):
        return []
    return respond(session, person, incoming, now=now, claim=claim)


def respond(
    session: Session, person: Person, incoming: Incoming, *, now: datetime,
    linked: bool = False, claim: bool = False,
) -> list[OutboxMessage]:
    """Decide the answers to `incoming` from `person` and put them in the outbox.

    `linked` says the person's chat was just linked (the answer is a welcome);
    with `claim` the answers are queued claimed, for the caller to send at once.
    """
    # Every channel's text and button data end here: cleaned before anything is stored.
    incoming = replace(incoming, text=clean_text(incoming.text[:MAX_TEXT]).strip(),
                       choice=clean_text(incoming.choice) or None if incoming.choice else None)
    roles = roles_of(session, person)
    reply = _route(session, person, roles, incoming, now, linked=linked)
    if not reply.choices and get_state(session, person.id or 0) is None:
        reply = Reply(reply.text, menu_choices(person.language, roles))
    queued = []
    for number, answer in enumerate([reply]):
        row = enqueue_row(
            session, dedupe_key=f"reply:{incoming.channel}:{incoming.ref}:{number}",
            recipient_id=person.id, channel=incoming.channel,
            language=person.language, text=answer.text, now=now,
            choices=[choice.as_dict() for choice in answer.choices] or None, claim=claim,
        )
        if row is not None:
            queued.append(row)
    log.debug("inbound message from person %s on %s", person.id, incoming.channel)
    return queued


def reportable(roles: Roles) -> list[Reportable]:
    """Whom this person may report absence for: their (minor) children, or themselves if adult."""
    students = [
        Reportable(student, child.name) for student, child in roles.children if not student.adult
    ]
    return students


def _route(
    session: Session, person: Person, roles: Roles, incoming: Incoming, now: datetime, *,
    linked: bool,
) -> Reply:
    language = person.language
    choice, text = incoming.choice, incoming.text
    command = text.split()[0].lower().split("@")[0] if text.startswith("/") else ""
    students = reportable(roles)
    if roles.student is not None and roles.student.adult:
        students.append(Reportable(roles.student, person.name))
    person_id = person.id or 0
    if linked:
        clear_state(session, person_id)
        return Reply(
            gettext_for(language, "Thank you! This chat is now linked to your phone number.")
            + "\n" + _greeting(session, person, incoming, now).text
        )
    if choice == report_dialog.CANCEL or (not choice and is_cancel(text)):
        if clear_state(session, person_id):
            return Reply(gettext_for(language, "Cancelled. Nothing was saved."))
        # Right after a receipt, "avbryt" takes the report back.
        undone = report_dialog.undo(session, person, students, now=now) if (
            not choice and can_report(roles)) else None
        return undone or _greeting(session, person, incoming, now)
    if choice and choice.startswith(TASK_DONE):
        done = mark_task_done(session, person, _number(choice.removeprefix(TASK_DONE)), now=now)
        return Reply(gettext_for(language, "Marked as done. Thank you!") if done else
                     gettext_for(language, "That task is not on your list."))
    if is_task_action(choice):
        return task_actions.act(session, person, choice or "", now=now)
    if command == START:
        clear_state(session, person_id)
        return _greeting(session, person, incoming, now)
    if not command and meeting_booking.claims(session, person_id, choice, now):
        return meeting_booking.answer(session, person, text, now)
    if language_dialog.claims(session, person_id, command, choice, text):
        return language_dialog.handle(session, person, choice, text, now=now)
    if roll_call.claims(session, person_id, command, choice):
        return roll_call.handle(session, person, roles, incoming, now=now)
    if not choice and text.lower() in HELP_WORDS:
        return handle_menu(session, person, replace(incoming, text="help"), now)
    if command == TASKS_COMMAND and roles.staff:
        return handle_menu(session, person, replace(incoming, text="", choice=TASKS), now)
    if command == action_plan.COMMAND or action_plan.owns(choice):
        if not roles.staff:
            return Reply(gettext_for(language, "This is for school staff."))
        if command:
            clear_state(session, person_id)
            return action_plan.handle(session, person, roles, text, now=now)
        return action_plan.act(session, person, roles, choice or "", now=now)
    if roles.staff and action_plan.claims(session, person_id, choice, command):
        return action_plan.write(session, person, roles, text, now=now)
    if cause_mapping.owns(choice):
        return cause_mapping.answer(session, person, choice or "", now=now)
    if command == cause_mapping.COMMAND:
        if not roles.staff:
            return Reply(gettext_for(language, "This is for school staff."))
        return cause_mapping.handle(session, person, roles, text, now=now)
    if return_plan.claims(choice):
        return return_plan.act(session, person, roles, choice or "", now=now)
    if command == return_plan.COMMAND:
        clear_state(session, person_id)
        return return_plan.handle(session, person, roles, text, now=now)
    if plan_settings.claims(session, person_id, choice, command, now):
        return plan_settings.write(session, person, roles, text, now=now)
    if command == concern.COMMAND or concern.owns(choice):
        if not roles.staff:
            return Reply(gettext_for(language, "This is for school staff."))
        if command:
            return concern.handle(session, person, roles, text, now=now)
        return concern.act(session, person, roles, choice or "", now=now)
    if roles.staff and concern.claims(session, person_id, choice, command):
        return concern.write(session, person, roles, text, now=now)
    if command == student_view.COMMAND:
        if not roles.staff:
            return Reply(gettext_for(language, "This is for school staff."))
        return student_view.show(session, person, roles, text, now=now)
    leave_reply = leave.route(session, person, students, choice, text, command,
                              channel=incoming.channel, now=now)
    if leave_reply is not None:
        return leave_reply
    if not can_report(roles) or not students:
        return handle_menu(session, person, incoming, now)
    if choice == REPORTS or command == REPORTS_COMMAND:
        clear_state(session, person_id)
        return my_reports.list_reports(session, person, students, now=now)
    if choice and choice.startswith(my_reports.CANCEL_KEY):
        return my_reports.ask_cancel(session, person, students,
                                     choice.removeprefix(my_reports.CANCEL_KEY), now=now)
    if choice and choice.startswith(my_reports.CONFIRM_KEY):
        return my_reports.confirm_cancel(session, person, students,
                                         choice.removeprefix(my_reports.CONFIRM_KEY), now=now)
    if choice == my_reports.KEEP_KEY:
        return my_reports.keep(person, session)
    if report_dialog.owns(choice):
        return report_dialog.act(session, person, students, choice or "",
                                 channel=incoming.channel, now=now)
    if not choice and is_undo(text):
        return report_dialog.undo(session, person, students, now=now) or Reply(
            gettext_for(language, "There is nothing to undo."))
    if choice == REPORT or command == REPORT_COMMAND:
        clear_state(session, person_id)
        return report_dialog.begin(session, person, students, channel=incoming.channel,
                                   now=now)
    if worry.owns(choice):
        return worry.act(session, person, students, choice or "", now=now)
    state = get_state(session, person_id)
    if not choice and worry.claims_text(state, text):
        return worry.write(session, person, students, text, now=now)
    if choice and choice.startswith("menu:"):
        return handle_menu(session, person, incoming, now)
    notice = _answered_notice(choice, state, now)
    if notice is not None:
        answer, how = report_dialog.answer_notice(
            session, person, students, "" if choice else text, student_ids=notice[0],
            day=notice[1], channel=incoming.channel, now=now)
        answered = record_notice_answer(session, notice[0], notice[1], answer=how, now=now)
        notify_notice_answered(session, answered, notice[1], guardian=person, answer=how,
                               now=now)
        return answer
    if state is not None and state.dialog == my_reports.DIALOG and not choice:
        said = parse_yes_no(text, language)
        if said is True:
            return my_reports.confirm_cancel(session, person, students,
                                             str(state.data.get("report")), now=now)
        if said is False:
            return my_reports.keep(person, session)
        clear_state(session, person_id)
    elif state is not None and state.dialog == report_dialog.DIALOG:
        return report_dialog.advance(session, person, students, state, text, choice, now=now)
    if choice or text.lower().strip("!.") in GREETING_WORDS:
        # a greeting, or a button from a finished conversation: nothing to continue
        return _greeting(session, person, incoming, now)
    started = report_dialog.start(session, person, students, text, channel=incoming.channel,
                                  now=now)
    if started is not None:
        return started
    return _not_a_report(session, person, incoming, now)


def _not_a_report(session: Session, person: Person, incoming: Incoming, now: datetime) -> Reply:
    """Thanks, a question, or words that report nothing: nothing is recorded."""
    words = incoming.text.lower()
    if "?" in words or "؟" in words:
        return handle_menu(session, person, replace(incoming, text="help"), now)
    if any(word in words for word in THANKS_WORDS):
        roles = roles_of(session, person)
        return Reply(gettext_for(person.language, "You're welcome!"),
                     menu_choices(person.language, roles))
    return _greeting(session, person, incoming, now)


def _answered_notice(
    choice: str | None, state: ConversationState | None, now: datetime
) -> tuple[list[int], date] | None:
    """The student and day of the absence notice this message answers, if it does.

    Free text answers a notice only the day it came (NOTICE_ANSWER_WINDOW); the
    notice's button works as long as the three-day rule lets the report count.
    """
    try:
        if choice and choice.startswith(NOTICE_KEY):
            student, day = choice.removeprefix(NOTICE_KEY).split(":", 1)
            return [int(student)], date.fromisoformat(day)
        if (not choice and state is not None and state.dialog == NOTICE_DIALOG
                and now - state.updated_at < NOTICE_ANSWER_WINDOW):
            return ([int(s) for s in state.data["students"]],
                    date.fromisoformat(str(state.data["day"])))
    except (KeyError, ValueError):
        return None
    return None


def _greeting(session: Session, person: Person, incoming: Incoming, now: datetime) -> Reply:
    return handle_menu(session, person, replace(incoming, text="", choice=None), now)


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
