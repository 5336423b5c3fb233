"""The SMS adapter: Twilio's webhooks in, outbox messages out through the real twilio client.

It translates and decides nothing: the handlers decide what an SMS means and
what is answered; this module checks signatures, renders the numbered
question of a message's choices, keeps within three segments, and maps
Twilio's errors onto the dispatcher's (retry, or unreachable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import encode_basic_auth
from sqlalchemy import Engine
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from bot.intake import Intake
from bot.settings import Settings
from handlers.delivery import FINAL as FINAL_STATUSES
from handlers.delivery import OPTED_OUT, UNREACHABLE, record_sms_status
from handlers.sms_inbox import (
    SmsMessage,
    find_sender,
    first_number,
    handle_sms,
    numbered_choices,
)
from locales import gettext_for
from policy.clock import Clock
from policy.pacing import Ceiling
from policy.sms import fit, segments, to_sms
from storage.db import session_scope
from storage.models import IntakeMessage, OutboxMessage, Person
from storage.outbox import (
    NOT_TAKEN_AFTER,
    SEND_WINDOW,
    MessageKind,
    enqueue_row,
    lease_now,
    maybe_sent_on,
    refs_in_use,
    settle_by_provider,
)

log = logging.getLogger(__name__)
SMS_PATH, STATUS_PATH = "/twilio/sms", "/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_SEGMENTS = 3
#: Longer lists of options are numbered without "for" ("1 Svenska, 2 Dansk, …").
COMPACT_FROM = 6
STATUS_TRIES, STATUS_WAIT = 10, 0.2
PUBLIC_API = "https://api.twilio.com"
#: Messages to one number asked for at once when settling a maybe-sent text.
LIST_LIMIT = 100
#: Our clock and Twilio's differ a little: a send is looked for from this long before.
CLOCK_SLACK = timedelta(minutes=1)


class RequestNotSent(Exception):
    """The request was not written out in full (no connection, or it broke while the request
    was being written): Twilio cannot have acted on it, so sending again is safe."""


class RedirectingHttpClient(AsyncTwilioHttpClient):
    """twilio's own async HTTP client, sending to `NARVARO_TWILIO_API_URL` instead, and
    telling a request that never left (`RequestNotSent`) from one whose answer was lost."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        """Send every request for api.twilio.com to `base_url` (a local fake, or a proxy)."""
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self.default_timeout = timeout

    async def request(
        self, method: str, url: str, params: dict[str, object] | None = None,
        data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None, timeout: float | None = None,  # noqa: ASYNC109
        allow_redirects: bool = False,
    ) -> Response:
        """Rewrite the host, then send as twilio's client does; a failure before the request
        was written in full raises `RequestNotSent`."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == PUBLIC_API and self.base_url != PUBLIC_API:
            url = self.base_url + url[len(PUBLIC_API):]
        headers = dict(headers or {})
        if auth is not None:
            # aiohttp deprecates the BasicAuth object twilio builds; the header is the same.
            headers["Authorization"] = encode_basic_auth(*auth)
        kwargs: dict[str, Any] = {
            "method": method.upper(), "url": url, "params": params, "data": data,
            "headers": headers, "allow_redirects": allow_redirects,
            # twilio's async client passes no timeout by default, which aiohttp reads as none.
            "timeout": aiohttp.ClientTimeout(total=timeout or self.default_timeout)}
        self.log_request(kwargs)
        assert self.session is not None
        # aiohttp's UploadTracker says whether the whole request reached the socket.
        tracker = aiohttp.UploadTracker()
        try:
            async with self.session.request(upload_tracker=tracker, **kwargs) as answer:
                self.log_response(answer.status, answer)
                return Response(answer.status, await answer.text(), answer.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            if not _written(tracker):
                raise RequestNotSent(type(error).__name__) from error
            raise


def _written(tracker: aiohttp.UploadTracker) -> bool:
    """Whether the tracked request was written out in full (settled once it failed)."""
    done = tracker.upload_complete
    return done.done() and not done.cancelled() and done.exception() is None


def render(text: str, choices: list[dict[str, str]] | None, language: str) -> str:
    """The SMS body: the text, then "Reply 1 for …, 2 for …", within three segments.

    The text is shortened at a word boundary if it must be; the numbered
    question never is (it is what the person answers).
    """
    shown = numbered_choices(choices)
    start = first_number(choices)
    footer = ""
    if shown:
        if len(shown) > COMPACT_FROM:  # a long list (languages, a class): "1 Ali, 2 Sara"
            items = ", ".join(f"{n} {choice['label']}"
                              for n, choice in enumerate(shown, start))
        else:
            items = ", ".join(
                # Translators: one option of an SMS question: "1 for Today"; {label} is a
                # button.
                gettext_for(language, "{number} for {label}", number=n, label=choice["label"],
                            isolate=False)
                for n, choice in enumerate(shown, start=start)
            )
        # Translators: the last line of an SMS question; {choices} is "1 for Today, 2 for …".
        footer = to_sms(gettext_for(language, "Reply {choices}.", choices=items, isolate=False))
    body = to_sms(text)
    if not footer:
        return fit(body, MAX_SEGMENTS)
    joined = f"{body}\n{footer}"
    words = body.split(" ")
    while segments(joined) > MAX_SEGMENTS and len(words) > 1:
        words.pop()
        joined = f"{' '.join(words).rstrip()}...\n{footer}"
    return joined


class TwilioSms:
    """The SMS channel (send) and the handling of Twilio's webhooks (receive)."""

    name = "sms"
    delivers_locally = False

    def __init__(self, settings: Settings, engine: Engine, clock: Clock, *,
                 default_language: str) -> None:
        """Prepare; the HTTP client is made in `start` (it needs the running event loop)."""
        assert settings.twilio_enabled
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.default_language = default_language
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.client: Client | None = None
        self._http: RedirectingHttpClient | None = None
        #: Sends the answers an SMS caused, claimed in its transaction (the dispatcher's
        #: `deliver`); without one they are left to the dispatcher's next round.
        self.deliver: Deliver | None = None
        self._sending: set[asyncio.Task[int]] = set()
        #: One sender: the configured messages a second, whoever they go to.
        self.ceiling = Ceiling(settings.sms_rate)
        #: Incoming texts, stored before they are handled (made in `start`).
        self.intake: Intake | None = None

    async def start(self) -> None:
        """Open the HTTP client and start handling the intake (texts a stop left first)."""
        self.intake = Intake(self.engine, self.clock, channel="sms",
                             worker=self.settings.worker, handle=self._handle_stored,
                             give_up=self._give_up)
        self.intake.start()
        self._http = RedirectingHttpClient(self.settings.twilio_api_url,
                                           timeout=self.settings.twilio_timeout_seconds)
        # environment={}: TWILIO_EDGE / TWILIO_REGION must not send us to another host.
        self.client = Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token,
                             http_client=self._http, environment={})
        if not self.settings.public_url:
            log.warning("NARVARO_PUBLIC_URL is not set: incoming SMS cannot be verified and "
                        "are refused, and no delivery statuses are asked for")

    async def finish_sending(self) -> None:
        """Stop handling the intake (after the text in hand; the rest waits for the next
        start), and wait for answers still being sent (before the dispatcher stops)."""
        if self.intake is not None:
            await self.intake.stop()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._http is not None:
            await self._http.close()

    def signature_valid(self, path: str, params: Mapping[str, str], signature: str | None) -> bool:
        """Whether Twilio signed this request, for our public URL (never the request's own)."""
        if not signature or not self.settings.public_url:
            return False
        return bool(self.validator.validate(f"{self.settings.public_url}{path}", dict(params),
                                            signature))

    async def receive(self, params: Mapping[str, str]) -> None:
        """Store an incoming SMS (signature already checked) in the intake, durably, before
        anything else; it is handled in order of arrival, normally before this returns
        (see `bot.intake`). Its answers are sent right after, without keeping Twilio's
        request waiting for our own call to Twilio."""
        assert self.intake is not None, "start() first"
        await self.intake.put(ref=params.get("MessageSid") or params.get("SmsSid") or "",
                              sender=params.get("From", ""), body=params.get("Body", ""))

    async def _handle_stored(self, row: IntakeMessage) -> None:
        """Handle a text from the intake (raises if it could not be)."""
        message = SmsMessage(sid=row.ref, sender=row.sender, body=row.body)
        self._send(await asyncio.to_thread(self._handle, message))

    async def _give_up(self, row: IntakeMessage) -> None:
        """Tell a known sender that a text which could not be handled was not saved."""
        # Only the SID is logged: the text may hold a reason, the number is personal.
        log.error("sms %s could not be handled; the sender is asked to try again", row.ref)
        message = SmsMessage(sid=row.ref, sender=row.sender, body="")
        self._send(await asyncio.to_thread(self._apologise, message))

    def _send(self, answers: Claimed) -> None:
        if self.deliver is not None and answers:
            task: asyncio.Task[int] = asyncio.create_task(self.deliver(answers))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def _handle(self, message: SmsMessage) -> Claimed:
        with session_scope(self.engine, hold=True) as session:
            rows = handle_sms(session, message, now=self.clock.now(),
                              default_language=self.default_language,
                              secret=(self.settings.twilio_auth_token or "").encode(),
                              claim=answers_claimed_for(self.settings.worker, self.deliver))
            return with_recipients(session, rows)

    def _apologise(self, message: SmsMessage) -> Claimed:
        """Tell a known sender their text was not saved (in a transaction of its own)."""
        with session_scope(self.engine) as session:
            person = find_sender(session, message.sender)
            if person is None:
                return []
            text = gettext_for(
                person.language,
                "Sorry, something went wrong on our side and your message was not saved. "
                "Please try again in a moment.",
            )
            row = enqueue_row(session, dedupe_key=f"apology:sms:{message.sid}", channel="sms",
                              kind=MessageKind.APOLOGY,
                              now=self.clock.now(),
                              claim=answers_claimed_for(self.settings.worker, self.deliver),
                              recipient_id=person.id, language=person.language, text=text)
            return [(row, person)] if row is not None else []

    async def status(self, params: Mapping[str, str]) -> None:
        """Record a delivery status callback (signature already checked)."""
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        status = params.get("MessageStatus") or params.get("SmsStatus") or ""
        code = params.get("ErrorCode") or None

        def record() -> bool:
            with session_scope(self.engine) as session:
                return record_sms_status(session, sid=sid, status=status, error_code=code,
                                         now=self.clock.now())

        # A fast callback can overtake the recording of the send it is about.
        for _ in range(STATUS_TRIES):
            if await asyncio.to_thread(record):
                return
            await asyncio.sleep(STATUS_WAIT)
        log.warning("twilio status for an unknown message (%s)", status)

    async def reconcile(self) -> int:
        """Settle `maybe_sent` texts by asking Twilio for the messages to that number since
        the send (the Messages list, To and DateSent): one it has is sent (with its SID and
        status); one it never took, NOT_TAKEN_AFTER on, is sent again. What Twilio cannot be
        asked about now is asked again next time. Returns how many were settled."""
        assert self.client is not None, "start() first"
        settled = 0
        for message_id, to, body, since in await asyncio.to_thread(self._unsettled):
            try:
                found = await self.client.messages.list_async(
                    to=to, date_sent_after=since.astimezone(UTC), limit=LIST_LIMIT)
            except (TwilioRestException, RequestNotSent, aiohttp.ClientError, OSError,
                    TimeoutError) as error:
                log.warning("outbox %s: could not ask Twilio whether it was sent (%s)",
                            message_id, type(error).__name__)
                continue
            sent = [(m.sid, m.body == body, m.date_created, m.status, m.error_code)
                    for m in reversed(found)]  # oldest first
            if await asyncio.to_thread(self._settle, message_id, since, sent):
                settled += 1
        return settled

    def _unsettled(self) -> list[tuple[int, str, str, datetime]]:
        with session_scope(self.engine) as session:
            return [
                (message.id or 0, to, render(text_with_link(message, self.settings.web_url),
                                             message.choices, message.language),
                 (message.claimed_at or message.created_at) - CLOCK_SLACK)
                for message, to in maybe_sent_on(session, channel=self.name) if to]

    def _settle(self, message_id: int, since: datetime,
                sent: list[tuple[str, bool, datetime | None, str, int | None]]) -> bool:
        """Match Twilio's messages to the row: the same text first, else any message to the
        number created just after the send that no other row has."""
        with session_scope(self.engine) as session:
            taken = refs_in_use(session, (sid for sid, *_ in sent))
            free = [item for item in sent if item[0] not in taken and (
                item[1] or (item[2] is not None and item[2] <= since + SEND_WINDOW))]
            free.sort(key=lambda item: not item[1])  # the same text first
            now = self.clock.now()
            if free:
                sid, _same, _created, status, code = free[0]
                if not settle_by_provider(session, message_id, ref=sid, now=now):
                    return False
                if status in FINAL_STATUSES:
                    record_sms_status(session, sid=sid, status=status, now=now,
                                      error_code=str(code) if code is not None else None)
                log.info("outbox %s: Twilio has it; settled as sent", message_id)
                return True
            if lease_now() - since < NOT_TAKEN_AFTER:
                return False  # Twilio may still be holding it, without a send date yet
            if settle_by_provider(session, message_id, ref=None, now=now):
                log.info("outbox %s: Twilio never took it; sending it again", message_id)
                return True
            return False

    def address_of(self, message: OutboxMessage, person: Person | None) -> str | None:
        """No ceiling per recipient for SMS: only the sender's rate counts."""
        return None

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Send one outbox message as an SMS; returns Twilio's message SID."""
        assert self.client is not None, "start() first"
        to = person.phone if person is not None else message.address
        if not to:
            raise ChannelUnreachable("no phone number")
        sender = self.settings.twilio_from or ""
        options: dict[str, Any] = {"to": to, "body": render(
            text_with_link(message, self.settings.web_url), message.choices, message.language)}
        if sender.startswith("MG"):
            options["messaging_service_sid"] = sender
        else:
            options["from_"] = sender
        if self.settings.public_url:
            options["status_callback"] = f"{self.settings.public_url}{STATUS_PATH}"
        try:
            sent = await self.client.messages.create_async(**options)
        except TwilioRestException as error:
            code = str(error.code) if error.code is not None else ""
            if code == OPTED_OUT:
                raise ChannelUnreachable("recipient opted out (21610)", code=code) from error
            if code in UNREACHABLE:
                raise ChannelUnreachable(f"number unreachable ({code})", code=code) from error
            if error.status >= 500 or error.status == 429:
                raise ChannelError(f"Twilio {error.status} ({code or 'no code'})",
                                   code=code or None) from error
            raise ChannelError(f"Twilio refused the message ({code or error.status})",
                               final=True, code=code or None) from error
        except RequestNotSent as error:
            # No connection, or it broke before the request was written in full: a retry
            # (with backoff) cannot double the SMS.
            raise ChannelError(f"Twilio unreachable: {error} before sending") from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            # The whole request went out and the answer was lost: Twilio may have the SMS.
            # Sending again could double it; `reconcile` asks Twilio instead.
            raise ChannelMaybeSent(f"Twilio: {type(error).__name__} after sending") from error
        return str(sent.sid)
