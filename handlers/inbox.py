"""The entry point for every inbound message from a known person, whatever the channel.

It cleans the message, loads the person's roles and dialog once, lets the routes
(`handlers.routes`, in their documented order) answer it, and puts the answers in the
outbox on the same channel.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from handlers import menu
from handlers.messages import Context, Incoming, Reply, Reportable
from handlers.router import dispatch
from handlers.routes import ROUTES
from policy.choices import unpack
from policy.text import clean_text
from storage.conversations import get_state
from storage.inbound import mark_seen
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue_row
from storage.people import Roles, roles_of

log = logging.getLogger(__name__)
MAX_TEXT = 1000


def handle_incoming(
    session: Session, incoming: Incoming, *, now: datetime, claim: str | None = None
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
    linked: bool = False, claim: str | None = None,
) -> list[OutboxMessage]:
    """Decide the answers to `incoming` from `person` and put them in the outbox.

    `linked` says the person's chat was just linked (the answer is a welcome);
    with `claim` the answers are queued claimed, for the caller to send at once.
    """
    # Every channel's text and button data end here: cleaned before anything is stored.
    incoming = replace(incoming, text=clean_text(incoming.text[:MAX_TEXT]).strip(),
                       choice=clean_text(incoming.choice) or None if incoming.choice else None)
    roles = roles_of(session, person)
    state = get_state(session, person.id or 0)
    if incoming.choice is None and state is None:
        entry = menu.typed_entry(incoming.text, person.language, roles)
        incoming = replace(incoming, choice=entry) if entry else incoming
    context = Context(session, person, roles, incoming, now, reportable(roles, person),
                      state, unpack(incoming.choice), linked)
    reply = dispatch(context, ROUTES, menu.answer)
    if not reply.choices and get_state(session, person.id or 0) is None:
        reply = Reply(reply.text, menu.menu_choices(person.language, roles))
    queued = []
    for number, answer in enumerate([reply]):
        row = enqueue_row(
            session, dedupe_key=f"reply:{incoming.channel}:{incoming.ref}:{number}",
            kind=MessageKind.REPLY, recipient_id=person.id, channel=incoming.channel,
            language=person.language, text=answer.text, now=now,
            # Stored even when empty: a number texted next answers this, not an older question
            # (handlers.sms_inbox).
            choices=[choice.as_dict() for choice in answer.choices], claim=claim,
        )
        if row is not None:
            queued.append(row)
    log.debug("inbound message from person %s on %s", person.id, incoming.channel)
    return queued


def reportable(roles: Roles, person: Person) -> list[Reportable]:
    """Whom this person may report absence for: their (minor) children, and themselves if an
    adult student."""
    students = [
        Reportable(student, child.name) for student, child in roles.children if not student.adult
    ]
    if roles.student is not None and roles.student.adult:
        students.append(Reportable(roles.student, person.name))
    return students
