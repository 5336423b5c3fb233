"""Chats not yet tied to a person: greet, ask for the phone number, link it or refuse.

A chat is linked when the person shares their *own* contact (Telegram sets the
contact's `user_id` to the sender's for the contact button) and the number is
in the roster. Everyone else gets the same polite refusal, which says nothing
about who is or is not in the roster.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from handlers.inbox import respond
from handlers.messages import Choice, Incoming, Reply
from locales import gettext_for, normalize_language
from policy.choices import ShareContact
from policy.phones import to_e164
from policy.text import clean_text
from storage.inbound import mark_seen
from storage.models import AuditLog, OutboxMessage, Person
from storage.outbox import MessageKind, enqueue_row
from storage.people import person_by_chat

log = logging.getLogger(__name__)
#: A choice with this data is the channel's "share my phone number" button (bot.telegram
#: draws it as Telegram's contact button).
SHARE_CONTACT = ShareContact().pack()


@dataclass(frozen=True)
class ChatMessage:
    """An inbound chat message, before we know who wrote it (Telegram's shape, channel-neutral)."""

    channel: str
    chat_id: int
    user_id: int
    ref: str
    language_hint: str | None = None
    text: str = ""
    choice: str | None = None
    contact_phone: str | None = None
    contact_user_id: int | None = None


def handle_chat_message(
    session: Session, message: ChatMessage, *, now: datetime, claim: str | None = None,
    secret: bytes = b"",
) -> list[OutboxMessage]:
    """Handle one chat message (once, however often it is delivered).

    Returns the answers queued (claimed for sending by the caller when `claim`). A chat
    not linked to anyone gets the welcome at most once an hour, however much it writes
    (`secret` keys the chat's digest, so the outbox keeps no chat id for it).
    """
    if not mark_seen(session, channel=message.channel, ref=clean_text(message.ref)[:64],
                     now=now):
        return []
    person = person_by_chat(session, message.chat_id)
    if message.contact_phone is not None:
        return _link(session, message, person, now, claim, secret)
    if person is None:
        language = normalize_language(message.language_hint)
        digest = keyed_digest(secret, f"{message.channel}:{message.chat_id}")
        return _to_chat(session, message, language, [_welcome(language)], now, claim,
                        key=f"welcome:{message.channel}:{digest}:{now:%Y-%m-%dT%H}")
    if person.telegram_blocked_at is not None:
        person.telegram_blocked_at = None  # they wrote to us, so they unblocked the bot
        session.add(person)
    incoming = Incoming(person.id or 0, message.channel, message.ref, message.text,
                        message.choice)
    return respond(session, person, incoming, now=now, claim=claim)


def _welcome(language: str) -> Reply:
    return Reply(
        gettext_for(
            language,
            "Welcome to Närvaro, the school's absence service. To begin, share your phone "
            "number with the button below so we can find you in the school's list.",
        ),
        (Choice(ShareContact(), gettext_for(language, "Share my phone number")),),
    )


def keyed_digest(secret: bytes, text: str) -> str:
    """A stranger's chat id or number (or a message's id, which holds one) as the outbox
    may keep it in a key: keyed with `secret` (there are few enough numbers to guess a
    plain hash), so it says nothing of them."""
    return hmac.new(secret, text.encode(), "sha256").hexdigest()[:24]


def _link(
    session: Session, message: ChatMessage, current: Person | None, now: datetime,
    claim: str | None, secret: bytes,
) -> list[OutboxMessage]:
    hint = current.language if current else normalize_language(message.language_hint)
    if message.contact_user_id != message.user_id:
        refusal = Reply(
            gettext_for(hint, "Please share your own phone number with the button below."),
            (Choice(ShareContact(), gettext_for(hint, "Share my phone number")),),
        )
        return _to_chat(session, message, hint, [refusal], now, claim,
                        key=f"reply:{message.channel}:{keyed_digest(secret, message.ref)}")
    raw = (message.contact_phone or "").strip()
    phone = to_e164(raw if raw.startswith("+") else f"+{raw}", "SE")
    person = None
    if phone is not None:
        person = session.execute(select(Person).where(Person.phone == phone)).scalar_one_or_none()
    if person is None:
        log.info("%s chat refused: number not in the roster", message.channel)
        refusal = Reply(gettext_for(
            hint,
            "Sorry, this chat cannot be linked. If you are a guardian, student or staff member "
            "at a school that uses Närvaro, ask the school to check the phone number they have "
            "for you.",
        ))
        return _to_chat(session, message, hint, [refusal], now, claim,
                        key=f"reply:{message.channel}:{keyed_digest(secret, message.ref)}")
    if current is not None and current.id != person.id:
        current.telegram_chat_id = None  # the chat now belongs to the number just shared
        session.add(current)
        session.flush()
    person.telegram_chat_id, person.telegram_user_id = message.chat_id, message.user_id
    person.telegram_blocked_at, person.updated_at = None, now
    session.add(person)
    session.add(AuditLog(at=now, actor=f"person:{person.id}", action="chat.link",
                         entity="person", entity_id=str(person.id),
                         detail={"channel": message.channel}))
    log.info("%s chat linked to person %s", message.channel, person.id)
    incoming = Incoming(person.id or 0, message.channel, message.ref, "/start")
    return respond(session, person, incoming, now=now, linked=True, claim=claim)


def _to_chat(
    session: Session, message: ChatMessage, language: str, replies: list[Reply], now: datetime,
    claim: str | None, *, key: str,
) -> list[OutboxMessage]:
    queued = []
    for number, reply in enumerate(replies):
        row = enqueue_row(
            session, dedupe_key=f"{key}:{number}",
            kind=MessageKind.REPLY,
            recipient_id=None, address=str(message.chat_id), channel=message.channel,
            language=language, text=reply.text, now=now,
            choices=[choice.as_dict() for choice in reply.choices] or None, claim=claim,
        )
        if row is not None:
            queued.append(row)
    return queued


def note_chat_blocked(
    session: Session, *, channel: str, chat_id: int, blocked: bool, ref: str, now: datetime
) -> None:
    """The person blocked (or unblocked) the bot in this chat: route around it until they write.

    Nothing is sent: a blocked chat cannot be written to, and an unblocked one
    gets the next message that is due anyway.
    """
    if not mark_seen(session, channel=channel, ref=ref, now=now):
        return
    person = person_by_chat(session, chat_id)
    if person is None:
        return
    person.telegram_blocked_at = now if blocked else None
    session.add(person)
    log.info("%s chat of person %s %s the bot", channel, person.id,
             "blocked" if blocked else "unblocked")
