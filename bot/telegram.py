"""The Telegram adapter: python-telegram-bot in, outbox messages out; it decides nothing.

Updates arrive by long polling (default) or by webhook (`NARVARO_TELEGRAM_MODE=webhook`,
checked with `secret_token`). Each becomes a channel-neutral `ChatMessage` for
`handlers`; an update already handled (same `update_id`, e.g. re-delivered after
a restart) is recognised there and skipped. Pending updates are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot.channels.base import (
    ChannelError,
    ChannelMaybeSent,
    ChannelUnreachable,
    Claimed,
    Deliver,
    answers_claimed_for,
    text_with_link,
    with_recipients,
)
from bot.settings import Settings
from bot.telegram_request import WriteProgress, not_sent, telegram_request, tracking
from bot.transactions import run_transaction
from handlers.linking import (
    SHARE_CONTACT,
    ChatMessage,
    handle_chat_message,
    note_chat_blocked,
)
from locales import LANGUAGES, N_, gettext_for, normalize_language
from policy.clock import Clock
from policy.pacing import Ceiling
from storage.db import database_busy, session_scope
from storage.models import OutboxMessage, Person

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_MESSAGE = 4096
#: A photo's caption holds this much; a longer text goes as a message without the picture.
MAX_CAPTION = 1024
#: Updates handled at once (different chats; one chat's updates stay in order).
CONCURRENT_UPDATES = 16
#: How long a message waits for a busy or unreachable database before the person is told
#: it was not saved.
DATABASE_PATIENCE = 300.0
COMMANDS = {
    "start": N_("Start, or link this chat"),
    "report": N_("Report an absence"),
    "reports": N_("See or cancel reports"),
    "roll": N_("Take roll call (school staff)"),
    "tasks": N_("My tasks (school staff)"),
    "student": N_("One student's absence and plan (staff)"),
    "concern": N_("Raise a concern about a student (staff)"),
    "plan": N_("Start a return plan for a student (staff)"),
    "mapping": N_("Send the cause mapping to a student (staff)"),
    "actionplan": N_("Write the action plan after a meeting (staff)"),
    "language": N_("Change the language I write in"),
    "help": N_("Help and the school's contact"),
    "cancel": N_("Stop what you are doing"),
}


def keyboard(choices: list[dict[str, str]] | None) -> Any:
    """Telegram markup for a message's choices: inline buttons, or the contact button."""
    if not choices:
        return None
    if any(choice["key"] == SHARE_CONTACT for choice in choices):
        label = next(c["label"] for c in choices if c["key"] == SHARE_CONTACT)
        return ReplyKeyboardMarkup(
            [[KeyboardButton(label, request_contact=True)]], resize_keyboard=True,
            one_time_keyboard=True,
        )
    longest = max(len(choice["label"]) for choice in choices)
    # A long list (a class at roll call) scans better two by two, even if a long name
    # is then shortened on a narrow screen; 30 rows of one would need much scrolling.
    width = 2 if longest <= 16 or (len(choices) > 8 and longest <= 24) else 1
    buttons = [
        InlineKeyboardButton(choice["label"], callback_data=choice["key"][:64])
        for choice in choices
    ]
    return InlineKeyboardMarkup([buttons[i:i + width] for i in range(0, len(buttons), width)])


class TelegramBot:
    """One bot: receives updates for the handlers and sends outbox messages (the channel)."""

    name = "telegram"
    delivers_locally = False

    def __init__(
        self, settings: Settings, engine: Engine, clock: Clock, *,
        on_handled: Callable[[], None] = lambda: None,
        deliver: Deliver | None = None,
        request: BaseRequest | None = None,
    ) -> None:
        """Build the python-telegram-bot application against `NARVARO_TELEGRAM_API_URL`
        (sending through `request`: by default `telegram_request(settings)`)."""
        assert settings.telegram_token
        # PTB 22 warns on every RetryAfter (it is built reading `retry_after`) unless time
        # periods are timedeltas already, which is what `send` expects anyway.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.on_handled = on_handled
        #: Sends the answers a message caused, claimed in its transaction (the dispatcher's
        #: `deliver`); without one they are left to the dispatcher's next round.
        self.deliver = deliver
        self.webhook = settings.telegram_mode == "webhook"
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(settings.telegram_token).base_url(
                settings.telegram_api_url
            )
        )
        if self.webhook:
            builder = builder.updater(None)
        # Our request (PTB's own, with a trace of how far each send got) carries the timeouts.
        builder = builder.concurrent_updates(CONCURRENT_UPDATES).request(
            request or telegram_request(settings))
        # Telegram's ceiling is kept by the dispatcher's lane for this channel (30 a second
        # overall, one a second to a chat, answers first), not by PTB's AIORateLimiter,
        # which knows neither the per-chat limit nor priorities.
        self.ceiling = Ceiling(settings.telegram_rate_limit, settings.telegram_chat_rate)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._background: set[asyncio.Task[None]] = set()
        self._chat_locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self._failed: set[int] = set()
        self._apologised: set[int] = set()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    async def start(self, *, poll: bool = True) -> None:
        """Connect (getMe), publish the commands, and start receiving updates (in polling
        mode only with `poll`: one worker of several polls, see `start_polling`)."""
        await self.app.initialize()
        await self._set_commands()
        await self.app.start()
        if self.webhook:
            await self.app.bot.set_webhook(
                url=f"{self.settings.public_url}{WEBHOOK_PATH}",
                secret_token=self.settings.webhook_secret, allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: receiving updates by webhook")
        elif poll:
            await self.start_polling()

    async def start_polling(self) -> None:
        """Start taking updates by long polling (never dropping pending ones)."""
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
        )
        log.info("telegram: receiving updates by polling")

    async def stop_receiving(self) -> None:
        """Stop taking updates and finish those in hand (the last offset is confirmed)."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def close(self) -> None:
        """Close the connection to the Bot API (after the dispatcher's last send)."""
        await self.app.shutdown()

    async def _set_commands(self) -> None:
        for language in LANGUAGES:
            commands = [
                BotCommand(name, gettext_for(language, description))
                for name, description in COMMANDS.items()
            ]
            with contextlib.suppress(TelegramError):
                await self.app.bot.set_my_commands(
                    commands, language_code=None if language == "en" else language
                )

    def secret_matches(self, given: str | None) -> bool:
        """Whether a webhook call carries our secret token."""
        return given is not None and hmac.compare_digest(
            given.encode(), self.settings.webhook_secret.encode()
        )

    async def process_webhook(self, data: dict[str, Any]) -> bool | None:
        """Handle one update posted to the webhook, before answering Telegram.

        Returns False when it could not be handled (Telegram should send it again), and
        None when it is not an update's shape (dropped with a log line, ids only).
        """
        update = parse_update(data, self.app.bot)
        if update is None:
            update_id = data.get("update_id")
            log.warning("telegram: webhook update %s dropped: not the shape of an update",
                        update_id if _is_int(update_id) else "-")
            return None
        await self.app.process_update(update)
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return False
        self._apologised.discard(update.update_id)
        return True

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Translate an update into a ChatMessage and hand it to the handlers."""
        member = update.my_chat_member
        if member is not None and member.chat.type == ChatType.PRIVATE:
            blocked = member.new_chat_member.status == ChatMemberStatus.BANNED
            await asyncio.to_thread(self._note_blocked, member.chat.id, blocked,
                                    f"u{update.update_id}")
            return
        message = self._translate(update)
        if update.callback_query is not None:
            # Acknowledge the tap while the answer is being worked out, not before.
            self._in_background(self._acknowledge(update.callback_query))
        if message is None:
            return
        # Updates are handled concurrently, but one chat's strictly in arrival order:
        # tasks start in update order and the lock serves waiters first come, first served.
        lock, users = self._chat_locks.get(message.chat_id, (asyncio.Lock(), 0))
        self._chat_locks[message.chat_id] = (lock, users + 1)
        try:
            async with lock:
                answers = await self._handle_patiently(message)
                if self.deliver is not None:
                    await self.deliver(answers)
        except Exception:
            # Nothing of it was stored (the transaction rolled back): say so rather than
            # stay silent, and let a webhook delivery fail so Telegram sends it again.
            log.exception("telegram: update %s could not be handled", update.update_id)
            if self.webhook:
                self._failed.add(update.update_id)
            await self._apologise(message, update.update_id)
        finally:
            lock, users = self._chat_locks[message.chat_id]
            if users == 1:
                del self._chat_locks[message.chat_id]
            else:
                self._chat_locks[message.chat_id] = (lock, users - 1)
        self.on_handled()

    async def _handle_patiently(self, message: ChatMessage
                                ) -> Claimed:
        """Handle a message, waiting out a busy (locked) or unreachable database for up to
        DATABASE_PATIENCE seconds (a roster import holds SQLite's write lock for a while):
        the person gets the answer late rather than "not saved"."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DATABASE_PATIENCE
        while True:
            try:
                return await run_transaction(self.engine, self._handle, message)
            except Exception as error:
                if not database_busy(error) or loop.time() >= deadline:
                    raise
                log.warning("telegram: %s waits, the database is busy", message.ref)
                await asyncio.sleep(1.0)

    async def _apologise(self, message: ChatMessage, update_id: int) -> None:
        if update_id in self._apologised:  # a webhook retry of the same update
            return
        if self.webhook:
            self._apologised.add(update_id)
        text = gettext_for(
            normalize_language(message.language_hint),
            "Sorry, something went wrong on our side and your message was not saved. "
            "Please try again in a moment.",
        )
        with contextlib.suppress(TelegramError):
            await self.app.bot.send_message(chat_id=message.chat_id, text=text)

    async def _acknowledge(self, query: CallbackQuery) -> None:
        """Stop the button's spinner. The keyboard stays: an older button still fills its
        field in the dialog, and not editing saves a request per tap."""
        with contextlib.suppress(TelegramError):
            await query.answer()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _translate(self, update: Update) -> ChatMessage | None:
        # update_id recognises a re-delivered update; the chat and message (or query) ids
        # keep refs unique when Telegram restarts its update_id sequence after a quiet week.
        query = update.callback_query
        if query is not None:
            ref = f"u{update.update_id}:q{query.id}"
        elif update.message is not None:
            ref = f"u{update.update_id}:{update.message.chat.id}:{update.message.message_id}"
        else:
            ref = f"u{update.update_id}"
        if query is not None:
            chat = query.message.chat if query.message is not None else None
            if chat is None or chat.type != ChatType.PRIVATE:
                return None
            return ChatMessage(
                channel=self.name, chat_id=chat.id, user_id=query.from_user.id, ref=ref,
                language_hint=query.from_user.language_code, choice=query.data or "",
            )
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return None
        contact = message.contact
        return ChatMessage(
            channel=self.name, chat_id=message.chat.id, user_id=message.from_user.id, ref=ref,
            language_hint=message.from_user.language_code, text=message.text or "",
            contact_phone=contact.phone_number if contact else None,
            contact_user_id=contact.user_id if contact else None,
        )

    def _note_blocked(self, chat_id: int, blocked: bool, ref: str) -> None:
        with session_scope(self.engine) as session:
            note_chat_blocked(session, channel=self.name, chat_id=chat_id, blocked=blocked,
                              ref=ref, now=self.clock.now())

    def _handle(self, message: ChatMessage, *, wait: bool = True) -> Claimed:
        with session_scope(self.engine, hold=True, wait=wait) as session:
            rows = handle_chat_message(session, message, now=self.clock.now(),
                                       claim=answers_claimed_for(self.settings.worker,
                                                                 self.deliver),
                                       secret=(self.settings.telegram_token or "").encode())
            return with_recipients(session, rows)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else "-"
        log.error("telegram: update %s failed: %s", update_id, type(context.error).__name__,
                  exc_info=context.error)

    def address_of(self, message: OutboxMessage, person: Person | None) -> str | None:
        """The chat a message goes to (what the per-chat ceiling counts), if any."""
        chat_id = self._chat_id(message, person)
        return None if chat_id is None else str(chat_id)

    @staticmethod
    def _chat_id(message: OutboxMessage, person: Person | None) -> int | None:
        if person is not None:
            return person.telegram_chat_id
        return int(message.address) if message.address else None

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Send an outbox message to the person's linked chat (or the stranger's chat)."""
        chat_id = self._chat_id(message, person)
        if chat_id is None:
            raise ChannelUnreachable("no Telegram chat linked")
        full = text_with_link(message, self.settings.web_url)
        text = full if len(full) <= MAX_MESSAGE else full[:MAX_MESSAGE - 1] + "…"
        chart = (message.attachment or {}).get("chart")
        progress = WriteProgress()
        try:
            with tracking(progress):
                if chart and len(text) <= MAX_CAPTION:
                    from bot.charts import render_png  # matplotlib: loaded the first time only

                    picture = await asyncio.to_thread(render_png, chart)
                    sent = await self.app.bot.send_photo(
                        chat_id=chat_id, photo=picture, caption=text,
                        reply_markup=keyboard(message.choices))
                else:
                    sent = await self.app.bot.send_message(
                        chat_id=chat_id, text=text, reply_markup=keyboard(message.choices)
                    )
        except Forbidden as error:
            raise ChannelUnreachable("blocked by the user") from error
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise ChannelError("Telegram flood control", retry_after=seconds) from error
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                raise ChannelUnreachable("chat not found") from error
            raise ChannelError(f"Telegram refused the message: {error.message}") from error
        except NetworkError as error:
            if _not_sent(error, progress):
                raise ChannelError(
                    f"Telegram unreachable: {_failure(error)} before sending") from error
            # The request may have reached Telegram: sending again could double the message.
            raise ChannelMaybeSent(f"Telegram: {_failure(error)} after sending") from error
        except TelegramError as error:
            raise ChannelError(f"Telegram: {type(error).__name__}") from error
        await self._close_buttons(chat_id, message)
        return f"{chat_id}:{sent.message_id}"

    async def _close_buttons(self, chat_id: int, message: OutboxMessage) -> None:
        """Remove the buttons of earlier messages this one closes (a call that is off)."""
        for closed in (message.attachment or {}).get("closes", []):
            chat, _, message_id = str(closed.get("ref") or "").partition(":")
            if chat == str(chat_id) and message_id.isdigit():
                with contextlib.suppress(TelegramError):  # already gone or too old: harmless
                    await self.app.bot.edit_message_reply_markup(
                        chat_id=chat_id, message_id=int(message_id), reply_markup=None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_update(data: dict[str, Any], bot: Any) -> Update | None:
    """The update `data` holds, or None when it is not of an update's shape where we read
    it: an integer update_id, and the ids and texts of its message, callback query, contact
    and chat member change of the types the Bot API gives them."""
    if not _is_int(data.get("update_id")):
        return None
    try:
        update = Update.de_json(data, bot)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return None
    message, query, member = update.message, update.callback_query, update.my_chat_member
    checks: list[bool] = []
    if message is not None:
        checks += [_is_int(message.message_id), _is_int(message.chat.id),
                   isinstance(message.chat.type, str),
                   message.text is None or isinstance(message.text, str),
                   message.from_user is None or _is_int(message.from_user.id)]
        if message.contact is not None:
            checks += [isinstance(message.contact.phone_number, str),
                       message.contact.user_id is None or _is_int(message.contact.user_id)]
    if query is not None:
        checks += [isinstance(query.id, str), _is_int(query.from_user.id),
                   query.data is None or isinstance(query.data, str),
                   query.message is None or _is_int(query.message.chat.id)]
    if member is not None:
        checks += [_is_int(member.chat.id), isinstance(member.new_chat_member.status, str)]
    return update if all(checks) else None


def _not_sent(error: NetworkError, progress: WriteProgress) -> bool:
    """Whether a network error certainly happened before the request reached Telegram.

    PTB wraps httpx's exception. What httpcore traced decides (`bot.telegram_request`): a
    request not written in full (no connection, none free in the pool, broken or timed out
    while writing) cannot have been taken; one written may have been. Untraced: no
    connection, or none free in the pool, means the request never left; a timeout or a
    broken connection after that, it may have.
    """
    cause = error.__cause__
    traced = not_sent(cause, progress)
    if traced is not None:
        return traced
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    if isinstance(error, TimedOut):
        return False
    # A 5xx from the Bot API arrives as a NetworkError without an httpx cause: not sent.
    return not isinstance(cause, httpx.TransportError)


def _failure(error: NetworkError) -> str:
    """The error's kind and httpx's beneath it ("NetworkError (ReadError)"): no content."""
    cause = error.__cause__
    return type(error).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")
