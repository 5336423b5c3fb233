"""In-process transcripts: a person writes, the handlers answer on a real database, and the
real dispatcher hands the outbox rows to channels that show them as Telegram and SMS would.

No runtime, no HTTP, no waiting: an exchange takes milliseconds and everything the bot would
have sent by then has been sent when `say` returns, so a test may assert that nothing came.
A message goes in through the channel's own entry point (`handle_chat_message` for a
Telegram chat, `handle_sms` for a text, `handle_incoming` for the web chat); what goes out is
rendered by the channel's own functions (`bot.telegram.keyboard`, `bot.sms.render`). Time
stands where the test puts it (`House.at`), and the sweeps run when the test says
(`House.tick`), as `narvaro tick` runs them.

    house = House.open(database_url)
    lena = house.telegram("+46701234501")
    lena.link()
    receipt = lena.say("Ali sjuk idag")
    assert receipt.buttons[:1] == ["Ångra"]

Full HTTP transcripts (tests/telegram_harness.py, the SMS webhook tests) remain for what
only the wire shows: linking by the real Bot API, signatures, pacing, crashes, the browser.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest.mock import patch

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.app import build_channels, configured_channels
from bot.channels.base import Channel, ChannelUnreachable, text_with_link
from bot.context import Context, build_context
from bot.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.sms import render
from bot.telegram import MAX_MESSAGE, keyboard
from handlers.inbox import handle_incoming
from handlers.linking import ChatMessage, handle_chat_message
from handlers.messages import Incoming
from handlers.sms_inbox import SmsMessage, handle_sms
from scheduler.sweeps import run_sweeps
from storage.db import session_scope
from storage.models import OutboxMessage, Person

#: Where the clock stands unless a test says otherwise: Monday 23 November 2026, 08:00.
MONDAY = "2026-11-23T08:00:00+01:00"
TOKEN = "123456:house"
SCHOOL_NUMBER = "+46701740000"
#: What a channel's settings need to be on (the values only have to be well-formed).
CHANNEL_ENV = {
    "telegram": {"NARVARO_TELEGRAM_TOKEN": TOKEN},
    "sms": {"NARVARO_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "NARVARO_TWILIO_AUTH_TOKEN": "house-auth-token",
            "NARVARO_TWILIO_FROM": SCHOOL_NUMBER},
}


@dataclass(frozen=True)
class Shown:
    """One message as its reader sees it: on Telegram the text and the keyboard's buttons,
    by SMS the body with its numbered question (`text`)."""

    channel: str
    address: str
    text: str
    #: Button label → the data a tap sends (Telegram's inline keyboard).
    data: dict[str, str] = field(default_factory=dict)
    #: The labels of every button, row by row (inline or the reply keyboard).
    buttons: list[str] = field(default_factory=list)
    #: Whether the keyboard's button shares the reader's phone number.
    request_contact: bool = False
    #: Whether a chart came with it (on Telegram a photo with the text as caption).
    chart: bool = False
    #: The outbox row it was sent from.
    row_id: int = 0

    @property
    def body(self) -> str:
        """An SMS's text (the same as `text`)."""
        return self.text


class Screens:
    """The Telegram and SMS channels of the house: each sent message is rendered as the
    real channel renders it and kept, by address, for the person to read."""

    def __init__(self, web_url: str) -> None:
        """Channels that show what they send; links are made against `web_url`."""
        self.web_url = web_url
        self.shown: dict[tuple[str, str], list[Shown]] = {}
        self.read: dict[tuple[str, str], int] = {}

    def channel(self, name: str) -> Channel:
        """The channel `name` ("telegram" or "sms")."""
        return _Screen(self, name)

    def add(self, shown: Shown) -> None:
        """Keep a message sent to `shown.address` on its channel."""
        self.shown.setdefault((shown.channel, shown.address), []).append(shown)

    def messages(self, channel: str, address: str) -> list[Shown]:
        """Every message sent to `address` on `channel`, oldest first."""
        return list(self.shown.get((channel, address), []))

    def unread(self, channel: str, address: str) -> list[Shown]:
        """The messages to `address` on `channel` not read yet (`next`), and marks none."""
        return self.messages(channel, address)[self.read.get((channel, address), 0):]

    def next(self, channel: str, address: str) -> Shown:
        """The next unread message to `address` on `channel`; fails if there is none."""
        unread = self.unread(channel, address)
        assert unread, f"no message to {channel}:{address}"
        self.read[(channel, address)] = self.read.get((channel, address), 0) + 1
        return unread[0]


class _Screen:
    """One channel of `Screens` (the dispatcher's `Channel`)."""

    delivers_locally = False

    def __init__(self, screens: Screens, name: str) -> None:
        self.screens = screens
        self.name = name

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Render `message` as this channel does and keep it for its reader."""
        text = text_with_link(message, self.screens.web_url)
        if self.name == "telegram":
            chat = person.telegram_chat_id if person is not None else (
                int(message.address) if message.address else None)
            if chat is None:
                raise ChannelUnreachable("no Telegram chat linked")
            address = str(chat)
            text = text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"
            markup = keyboard(message.choices)
            rows: list[list[dict[str, Any]]] = []
            if markup is not None:
                shape = markup.to_dict()
                rows = shape.get("inline_keyboard") or shape.get("keyboard") or []
            buttons = [button for row in rows for button in row]
            shown = Shown(
                self.name, address, text,
                data={b["text"]: b["callback_data"] for b in buttons if "callback_data" in b},
                buttons=[b["text"] for b in buttons],
                request_contact=any(b.get("request_contact") for b in buttons),
                chart=bool((message.attachment or {}).get("chart")), row_id=message.id or 0)
        else:
            to = message.address or (person.phone if person is not None else None)
            if not to:
                raise ChannelUnreachable("no phone number")
            address = to
            shown = Shown(self.name, address, render(text, message.choices, message.language),
                          row_id=message.id or 0)
        self.screens.add(shown)
        return f"{address}:{len(self.screens.messages(self.name, address))}"


class House:
    """Närvaro without its runtime: the database, the clock, the dispatcher and the two
    phone channels, driven one message at a time."""

    def __init__(self, context: Context, channels: tuple[str, ...]) -> None:
        """Drive `context`'s database with the phone channels `channels` configured."""
        self.context = context
        self.screens = Screens(context.settings.web_url)
        sending: dict[str, Channel] = dict(build_channels(context.settings))
        for name in channels:
            sending[name] = self.screens.channel(name)
        self.dispatcher = Dispatcher(context.engine, context.clock, sending,
                                     worker="house",
                                     configured=configured_channels(context.settings))
        self._loop = asyncio.new_event_loop()
        self._refs = itertools.count(1)
        self._chats = itertools.count(7001)

    @classmethod
    @contextmanager
    def open(cls, *, channels: tuple[str, ...] = ("telegram", "sms"), now: str = MONDAY,
             **env: str) -> Iterator[House]:
        """The house on the NARVARO_* environment (the test's database) plus `env`, with the
        clock at `now`."""
        values = {"NARVARO_DEMO": "0", "NARVARO_CLOCK_START": now, **env}
        for name in channels:
            values.update(CHANNEL_ENV[name])
        with patch.dict(os.environ, values):
            context = build_context(load_settings(), migrate=False)
        house = cls(context, channels)
        try:
            yield house
        finally:
            house._loop.close()
            context.engine.dispose()

    @property
    def engine(self) -> Engine:
        """The database."""
        return self.context.engine

    def now(self) -> datetime:
        """The house's clock."""
        return self.context.clock.now()

    def at(self, when: str) -> None:
        """Move the clock to `when` (ISO 8601 with its offset); it runs on from there."""
        self.context.clock.set(datetime.fromisoformat(when))

    def tick(self, when: str | None = None) -> dict[str, int]:
        """Run every sweep once (at `when`, if given) and send what is due, as
        `narvaro tick` does; returns what each sweep did."""
        if when is not None:
            self.at(when)
        done = run_sweeps(self.engine, self.now())
        self.send_due()
        return done

    def send_due(self) -> int:
        """Let the dispatcher send every message due now; returns how many went."""
        return self._loop.run_until_complete(self.dispatcher.dispatch_once())

    def ref(self) -> str:
        """A fresh id for an inbound message."""
        return f"house-{next(self._refs)}"

    def person(self, phone: str) -> Person:
        """The person with this number in the roster."""
        with Session(self.engine) as session:
            return session.exec(select(Person).where(Person.phone == phone)).one()

    def outbox(self, phone: str | None = None, prefix: str = "") -> list[OutboxMessage]:
        """Outbox rows (for the person with `phone`, with a dedupe key starting with
        `prefix`), oldest first."""
        with Session(self.engine) as session:
            query = select(OutboxMessage).where(
                col(OutboxMessage.dedupe_key).startswith(prefix)).order_by(
                col(OutboxMessage.id))
            if phone is not None:
                person = session.exec(select(Person).where(Person.phone == phone)).one()
                query = query.where(OutboxMessage.recipient_id == person.id)
            return list(session.exec(query))

    def telegram(self, phone: str | None = None, *, language: str | None = "sv") -> TelegramChat:
        """A new Telegram user (with `language` set in their app); `phone` is the number
        their contact shares."""
        return TelegramChat(self, next(self._chats), phone, language)

    def sms(self, phone: str) -> SmsPhone:
        """A handset texting the school's number."""
        return SmsPhone(self, phone)

    def webchat(self, phone: str) -> WebChat:
        """The person with this number in the local web chat (channel "webchat")."""
        return WebChat(self, phone)


class TelegramChat:
    """A Telegram user in a private chat with the bot: write, tap, share the contact."""

    def __init__(self, house: House, chat_id: int, phone: str | None,
                 language: str | None) -> None:
        self.house = house
        self.chat_id = chat_id
        self.phone = phone
        self.language = language

    def _send(self, *, text: str = "", choice: str | None = None,
              contact: str | None = None, contact_user: int | None = None) -> None:
        house = self.house
        message = ChatMessage(
            # as Telegram's adapter writes it: the chat's id is in the message's
            channel="telegram", chat_id=self.chat_id, user_id=self.chat_id,
            ref=f"{house.ref()}:{self.chat_id}",
            language_hint=self.language, text=text, choice=choice, contact_phone=contact,
            contact_user_id=(self.chat_id if contact_user is None else contact_user)
            if contact is not None else None)
        with session_scope(house.engine) as session:
            handle_chat_message(session, message, now=house.now(), secret=TOKEN.encode())
        house.send_due()

    def write(self, text: str) -> None:
        """Write `text` (the answers wait in `unread`)."""
        self._send(text=text)

    def say(self, text: str) -> Shown:
        """Write `text`; the bot's next message in this chat."""
        self.write(text)
        return self.reply()

    def press(self, label: str) -> None:
        """Tap the button `label` on the latest message that has it (answers wait)."""
        for shown in reversed(self.messages()):
            if label in shown.data:
                self._send(choice=shown.data[label])
                return
        raise AssertionError(f"no button {label!r} in the chat")

    def tap(self, label: str) -> Shown:
        """Tap the button `label` on the latest message that has it; the next message."""
        self.press(label)
        return self.reply()

    def share_contact(self, phone: str | None = None, *, user_id: int | None = None) -> Shown:
        """Share a contact (one's own number unless `phone` and `user_id` say otherwise);
        the next message."""
        number = phone if phone is not None else self.phone
        assert number is not None
        self._send(contact=number, contact_user=user_id)
        return self.reply()

    def link(self, phone: str | None = None) -> Shown:
        """/start and share one's own number: the linked welcome."""
        if phone is not None:
            self.phone = phone
        welcome = self.say("/start")
        assert welcome.request_contact, welcome
        return self.share_contact()

    def reply(self) -> Shown:
        """The bot's next unread message in this chat; fails if there is none."""
        return self.house.screens.next("telegram", str(self.chat_id))

    def unread(self) -> list[Shown]:
        """The messages not read yet."""
        return self.house.screens.unread("telegram", str(self.chat_id))

    def messages(self) -> list[Shown]:
        """Every message the bot sent to this chat, oldest first."""
        return self.house.screens.messages("telegram", str(self.chat_id))


class SmsPhone:
    """Someone texting the school's number: write, read the answer."""

    def __init__(self, house: House, number: str) -> None:
        self.house = house
        self.number = number

    def write(self, body: str) -> None:
        """Text `body` (the answers wait in `unread`)."""
        house = self.house
        with session_scope(house.engine) as session:
            handle_sms(session, SmsMessage(house.ref(), self.number, body), now=house.now(),
                       default_language=house.context.policy.language,
                       secret=CHANNEL_ENV["sms"]["NARVARO_TWILIO_AUTH_TOKEN"].encode())
        house.send_due()

    def say(self, body: str) -> str:
        """Text `body`; the body of the next text the bot sends to this number."""
        self.write(body)
        return self.reply().text

    def reply(self) -> Shown:
        """The next unread text to this number; fails if there is none."""
        return self.house.screens.next("sms", self.number)

    def unread(self) -> list[Shown]:
        """The texts not read yet."""
        return self.house.screens.unread("sms", self.number)

    def messages(self) -> list[Shown]:
        """Every text the bot sent to this number, oldest first."""
        return self.house.screens.messages("sms", self.number)


class WebChat:
    """A known person in the local web chat: what they write goes to `handle_incoming`; the
    answers are the outbox rows it queued."""

    def __init__(self, house: House, phone: str) -> None:
        self.house = house
        self.phone = phone

    def answer(self, text: str = "", choice: str | None = None) -> list[OutboxMessage]:
        """Write `text` (or tap `choice`); the answers queued."""
        house = self.house
        with session_scope(house.engine) as session:
            person = session.exec(select(Person).where(Person.phone == self.phone)).one()
            rows = handle_incoming(
                session, Incoming(person.id or 0, "webchat", house.ref(), text, choice),
                now=house.now())
        house.send_due()
        return rows

    def say(self, text: str = "", choice: str | None = None) -> str:
        """Write `text` (or tap `choice`); the text of the one answer."""
        [row] = self.answer(text, choice)
        return row.text
