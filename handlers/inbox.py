"""The entry point for every inbound message, whatever the channel."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from handlers.menu import handle_menu
from handlers.messages import Incoming, Reply
from storage.models import Person
from storage.outbox import enqueue

log = logging.getLogger(__name__)
MAX_TEXT = 1000


def handle_incoming(session: Session, incoming: Incoming, *, now: datetime) -> list[Reply]:
    """Decide the answers to `incoming` and put them in the outbox, on the same channel.

    A replayed message (same channel and `ref`) enqueues nothing new: its
    answers have the same dedupe keys.
    """
    person = session.get(Person, incoming.person_id)
    if person is None:
        raise LookupError(f"no person {incoming.person_id}")
    text = incoming.text[:MAX_TEXT]
    replies = [handle_menu(session, person, Incoming(
        incoming.person_id, incoming.channel, incoming.ref, text, incoming.choice
    ), now)]
    for number, reply in enumerate(replies):
        enqueue(
            session, dedupe_key=f"reply:{incoming.channel}:{incoming.ref}:{number}",
            recipient_id=incoming.person_id, channel=incoming.channel,
            language=person.language, text=reply.text, now=now,
            choices=[choice.as_dict() for choice in reply.choices] or None,
        )
    log.info("inbound message from person %s on %s", person.id, incoming.channel)
    return replies
