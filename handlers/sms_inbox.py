"""Text messages in: the sender is known by phone number alone, and may answer by number.

STOP / START / HELP keywords (every supported language) come first; a bare
number answers the numbered question last sent to the person; everything else
goes to the same conversation as any other channel (`handlers.inbox.respond`).
A number not in the roster gets one short neutral answer a day and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from handlers.inbox import MAX_TEXT, respond
from handlers.linking import SHARE_CONTACT
from handlers.menu import help_text
from handlers.messages import Incoming
from handlers.schooltime import local_today
from locales import gettext_for
from policy.sms import HELP, START, STOP, keyword
from storage.inbound import mark_seen
from storage.models import OutboxMessage, Person
from storage.outbox import enqueue_row
from storage.people import set_sms_opt_out

log = logging.getLogger(__name__)
CHANNEL = "sms"


@dataclass(frozen=True)
class SmsMessage:
    """An incoming text: the provider's id for it, the sender's number (E.164), the text."""

    sid: str
    sender: str
    body: str


def numbered_choices(choices: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """The choices an SMS lists as "reply 1 for …" (menu buttons and the contact button are
    left out: by SMS one just writes)."""
    return [
        choice for choice in choices or []
        if not choice["key"].startswith("menu:") and choice["key"] != SHARE_CONTACT
    ]


def handle_sms(
    session: Session, message: SmsMessage, *, now: datetime, default_language: str,
    claim: bool = False,
) -> list[OutboxMessage]:
    """Handle one incoming text (once, however often it is delivered); returns the answers
    queued (claimed for sending by the caller when `claim`)."""
    if not mark_seen(session, channel=CHANNEL, ref=message.sid, now=now):
        return []
    text = message.body[:MAX_TEXT].strip()
    person = session.execute(
        select(Person).where(Person.phone == message.sender)
    ).scalar_one_or_none()
    said = keyword(text)
    if person is None:
        return [] if said == STOP else _answer_stranger(session, message, now,
                                                        default_language, claim)
    if said is not None:
        return _keyword(session, person, message, said, now, claim)
    choice = _numbered_answer(session, person, text)
    incoming = Incoming(person.id or 0, CHANNEL, message.sid, "" if choice else text, choice)
    return respond(session, person, incoming, now=now, claim=claim)


def _numbered_answer(session: Session, person: Person, text: str) -> str | None:
    """The key of the choice a bare number picks in the last numbered question, if any."""
    if not text.isdigit():
        return None
    last = session.execute(
        select(OutboxMessage.choices)
        .where(OutboxMessage.recipient_id == person.id, OutboxMessage.channel == CHANNEL,
               OutboxMessage.choices.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    shown = numbered_choices(last)
    number = int(text)
    return shown[number - 1]["key"] if 1 <= number <= len(shown) else None


def _keyword(
    session: Session, person: Person, message: SmsMessage, said: str, now: datetime,
    claim: bool,
) -> list[OutboxMessage]:
    language = person.language
    if said == STOP:
        set_sms_opt_out(session, person, opted_out=True, now=now)
        log.info("sms: person %s opted out", person.id)
        text = gettext_for(language, "You will get no more text messages from Närvaro. "
                                     "Reply START to turn them back on.")
    elif said == START:
        set_sms_opt_out(session, person, opted_out=False, now=now)
        log.info("sms: person %s opted in again", person.id)
        text = gettext_for(language, "Text messages from Närvaro are on again.")
    else:
        assert said == HELP
        text = help_text(session, person)
    return _queue(session, dedupe_key=f"reply:{CHANNEL}:{message.sid}:0", now=now, claim=claim,
                  recipient_id=person.id, language=language, text=text)


def _answer_stranger(
    session: Session, message: SmsMessage, now: datetime, language: str, claim: bool
) -> list[OutboxMessage]:
    # Keyed by a digest: the number itself is kept only on the answer, to send it.
    digest = hashlib.sha256(message.sender.encode()).hexdigest()[:20]
    today = local_today(None, now)  # no school is known for a stranger
    text = gettext_for(language, "This number is not registered with Närvaro. "
                                 "Please contact the school.")
    log.info("sms from a number not in the roster")
    return _queue(session, dedupe_key=f"stranger:{CHANNEL}:{digest}:{today.isoformat()}",
                  now=now, claim=claim, recipient_id=None, address=message.sender,
                  language=language, text=text)


def _queue(session: Session, *, dedupe_key: str, now: datetime, claim: bool,
           **values: Any) -> list[OutboxMessage]:
    row = enqueue_row(session, dedupe_key=dedupe_key, channel=CHANNEL, now=now, claim=claim,
                      **values)
    return [row] if row is not None else []
