"""Text messages in: the sender is known by phone number alone, and may answer by number.

STOP / START / HELP keywords (every supported language) come first; a bare
number answers the numbered question last sent to the person (the typed choices
stored on that text, `policy.choices`); everything else goes to the same
conversation as any other channel (`handlers.inbox.respond`).
A number not in the roster gets one short neutral answer a day and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from handlers.inbox import MAX_TEXT, respond
from handlers.linking import keyed_digest
from handlers.menu import help_text
from handlers.messages import Incoming
from handlers.schooltime import local_today
from locales import gettext_for
from policy.choices import unpack
from policy.freetext import fold
from policy.phones import language_of_number
from policy.routing import AUTO
from policy.sms import HELP, START, STOP, keyword
from policy.text import clean_text
from storage.inbound import mark_seen
from storage.models import OutboxMessage, Person
from storage.outbox import MessageKind, enqueue_row
from storage.people import mark_reachable, set_sms_opt_out

log = logging.getLogger(__name__)
CHANNEL = "sms"
#: The dedupe key of an answer to STOP / START / HELP.
KEYWORD_PREFIX = f"keyword:{CHANNEL}:"
#: Outbox states of a text that is being sent or was (one person's go out in order).
OUT = ("sending", "sent", "delivered")
#: How many recent texts to a person are looked through for the question a number answers.
RECENT = 10
#: How long an answer written out (not numbered) can be.
MAX_WORDED = 40


@dataclass(frozen=True)
class SmsMessage:
    """An incoming text: the provider's id for it, the sender's number (E.164), the text."""

    sid: str
    sender: str
    body: str


def first_number(choices: list[dict[str, str]] | None) -> int:
    """The number an SMS gives the first choice: 0 on a scale (the cause mapping's 0–4),
    else 1."""
    shown = [unpack(choice["key"]) for choice in numbered_choices(choices)]
    return 0 if shown and all(key is not None and key.scale for key in shown) else 1


def numbered_choices(choices: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """The choices an SMS lists as "reply 1 for …": those whose kind is numbered (menu
    buttons, the contact button and a receipt's undo and note are left out: by SMS one
    just writes, and the receipt says the undo word)."""
    numbered = []
    for choice in choices or []:
        key = unpack(choice["key"])
        if key is None or key.numbered:
            numbered.append(choice)
    return numbered


def handle_sms(
    session: Session, message: SmsMessage, *, now: datetime, default_language: str,
    secret: bytes, claim: str | None = None,
) -> list[OutboxMessage]:
    """Handle one incoming text (once, however often it is delivered); returns the answers
    queued (claimed for sending by the caller when `claim`).

    `secret` keys the digest by which a stranger's number is remembered for a day.
    """
    if not mark_seen(session, channel=CHANNEL, ref=clean_text(message.sid)[:64], now=now):
        return []
    text = clean_text(message.body[:MAX_TEXT]).strip()
    person = find_sender(session, message.sender)
    said = keyword(text)
    if person is None:
        return [] if said == STOP else _answer_stranger(session, message, now,
                                                        default_language, secret, claim)
    if person.sms_unreachable_at is not None:
        mark_reachable(session, person)  # they just texted us from that number
    if said is not None:
        return _keyword(session, person, message, said, now, claim)
    choice = _numbered_answer(session, person, text)
    incoming = Incoming(person.id or 0, CHANNEL, message.sid, "" if choice else text, choice)
    return respond(session, person, incoming, now=now, claim=claim)


def find_sender(session: Session, phone: str) -> Person | None:
    """The person in the roster with this number (E.164), if any."""
    return session.execute(select(Person).where(Person.phone == phone)).scalar_one_or_none()


def _numbered_answer(session: Session, person: Person, text: str) -> str | None:
    """The packed choice a bare number picks in the question last texted, if any (where
    the question's kind allows it, the answer written out counts too: the morning
    check-in's "jag kommer senare").

    The question is the latest text with choices stored (a conversation's answer
    stores its choices even when there are none: the question before is no longer
    open). Only texts on their way or out count (not those still waiting in the
    queue: the person cannot answer what they have not got). Texts that store no
    choices (answers to STOP / START / HELP, news: a summary, a correction) leave
    the question before them open.
    """
    worded = not text.isdecimal()
    if len(text) > (MAX_WORDED if worded else 2):
        return None
    recent = session.execute(
        select(OutboxMessage.choices)
        .where(OutboxMessage.recipient_id == person.id, col(OutboxMessage.status).in_(OUT),
               # A message routed at send time says "auto" until the dispatcher records
               # that it went by SMS, a moment after the phone has it.
               or_(OutboxMessage.channel == CHANNEL,
                   (col(OutboxMessage.channel) == AUTO) & (OutboxMessage.status == "sending")))
        .order_by(col(OutboxMessage.id).desc())
        .limit(RECENT)
    ).scalars()
    choices = next((choices for choices in recent if choices is not None), None)
    if choices is None:
        return None
    shown = numbered_choices(choices)
    if worded:
        said = fold(text.strip(" .!"))
        return next((c["key"] for c in shown if _worded(c["key"]) and fold(c["label"]) == said),
                    None)
    number = int(text) - first_number(choices)
    return shown[number]["key"] if 0 <= number < len(shown) else None


def _worded(data: str) -> bool:
    """Whether a choice may be answered by its label written out."""
    key = unpack(data)
    return key is not None and key.worded


def _keyword(
    session: Session, person: Person, message: SmsMessage, said: str, now: datetime,
    claim: str | None,
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
    return _queue(session, dedupe_key=f"{KEYWORD_PREFIX}{message.sid}", now=now, claim=claim,
                  kind=MessageKind.KEYWORD, recipient_id=person.id, language=language, text=text)


def _answer_stranger(
    session: Session, message: SmsMessage, now: datetime, language: str, secret: bytes,
    claim: str | None,
) -> list[OutboxMessage]:
    # The number itself is kept on the answer only until it is sent.
    digest = keyed_digest(secret, message.sender)
    today = local_today(None, now, session=session)  # no school is known for a stranger
    # the number's country is all we know of them ("+45…" reads Danish)
    language = language_of_number(message.sender) or language
    text = gettext_for(language, "This number is not registered with Närvaro. "
                                 "Please contact the school.")
    log.info("sms from a number not in the roster")
    return _queue(session, dedupe_key=f"stranger:{CHANNEL}:{digest}:{today.isoformat()}",
                  now=now, claim=claim, kind=MessageKind.REPLY, recipient_id=None,
                  address=message.sender, language=language, text=text)


def _queue(session: Session, *, dedupe_key: str, now: datetime, claim: str | None,
           **values: Any) -> list[OutboxMessage]:
    row = enqueue_row(session, dedupe_key=dedupe_key, channel=CHANNEL, now=now, claim=claim,
                      **values)
    return [row] if row is not None else []
