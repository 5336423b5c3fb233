"""A local fake of Twilio's Programmable Messaging REST API, for tests and benchmarks.

`FakeTwilio` serves `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, the Messages
list (`GET .../Messages.json` with Twilio's `To`, `From`, `DateSent`, `DateSent<`,
`DateSent>`, `PageSize` and `Page` filters, newest first) and `GET .../Messages/{Sid}.json`
on 127.0.0.1 (starlette + uvicorn in a daemon thread, via the
`LocalServer` of the fake Telegram server), so the real `twilio` client talks to it once its
HttpClient rewrites `https://api.twilio.com` to `fake.base_url`. Requests are checked like
Twilio checks them (Basic auth, E.164 numbers, senders, body length) and answered with
Twilio's JSON (Message resources, `{"code", "message", "more_info", "status"}` errors).

After a create, a background task in the server's loop moves the message to `sent` and then
to its outcome (`set_outcome`, default `delivered`) and POSTs each step, signed with
`X-Twilio-Signature`, to the message's StatusCallback. `sms_to_bot` plays an incoming SMS:
the form Twilio posts to a messaging webhook, signed over the bot's public URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from types import EllipsisType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import httpx
import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.telegram_api import LocalServer

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "ERROR_MESSAGES",
    "CallbackDelivery",
    "FakeTwilio",
    "RestRequest",
    "SentSms",
    "count_segments",
]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "5f4dcc3b5aa765d61d8327deb882cf99"
API_VERSION = "2010-04-01"
MAX_BODY_LENGTH = 1600
E164 = re.compile(r"\+[1-9]\d{1,14}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})

# Twilio's messages for the error codes the fake produces (`{to}`, `{from_}`, `{sid}`,
# `{path}` are filled in); other codes given to `fail_next` need a message of their own.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21212: "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric "
    "sender ID.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
    "number: {from_} via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid {sid} is invalid.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}
# The error code Twilio reports for an outcome when the test names none.
DEFAULT_OUTCOME_ERRORS = {"undelivered": 30003, "failed": 30008}

# GSM 03.38: the basic set (one septet each) and the extension table (escape + one septet).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def count_segments(body: str) -> int:
    """SMS segments for `body`: GSM-7 160 single / 153 per part, else UCS-2 70 / 67."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        units = len(body) + sum(char in GSM7_EXTENSION for char in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)


def _country(number: str) -> str:
    with contextlib.suppress(phonenumbers.NumberParseException):
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    return ""


def _valid_sender(sender: str) -> bool:
    return bool(E164.fullmatch(sender) or ALPHANUMERIC_SENDER.fullmatch(sender))


def _new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _rfc2822(moment: datetime | None) -> str | None:
    return None if moment is None else format_datetime(moment)


@dataclass
class SentSms:
    """A message the bot created, as the fake last saw it (copies are handed out)."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    num_segments: int
    status_callback: str | None
    error_code: int | None
    created_at: datetime
    error_message: str | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CallbackDelivery:
    """One attempt to POST a status callback; `status_code` is None when it did not connect."""

    url: str
    params: dict[str, str]
    status_code: int | None
    error: str | None
    attempt: int
    at: float

    @property
    def message_status(self) -> str:
        """The MessageStatus that was reported."""
        return self.params["MessageStatus"]

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class RestRequest:
    """One REST call the fake answered (for assertions and benchmarks)."""

    method: str
    path: str
    form: dict[str, str]
    status: int
    error_code: int | None
    at: float
    duration: float


class _Reset(Exception):
    """The fake drops the connection instead of answering."""


def _date_test(value: str, key: str) -> Callable[[datetime], bool]:
    """Whether a send date passes the filter `key` (DateSent, DateSent<, DateSent>)."""
    if "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if key == "DateSent<":
            return lambda sent: sent <= moment
        if key == "DateSent>":
            return lambda sent: sent >= moment
        return lambda sent: sent.replace(microsecond=0) == moment
    day = date.fromisoformat(value)
    if key == "DateSent<":
        return lambda sent: sent.astimezone(UTC).date() <= day
    if key == "DateSent>":
        return lambda sent: sent.astimezone(UTC).date() >= day
    return lambda sent: sent.astimezone(UTC).date() == day


class TwilioError(Exception):
    """An error answer: HTTP `status` and Twilio's error `code` and `message`."""

    def __init__(self, status: int, code: int, message: str | None = None, **fill: str) -> None:
        if message is None:
            message = ERROR_MESSAGES.get(code, "Error").format(**fill)
        self.status, self.code, self.message = status, code, message
        super().__init__(self.message)

    def payload(self) -> JSON:
        """The JSON body Twilio answers with."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


class FakeTwilio:
    """A fake Twilio Messaging API with a test-side API. See the module docstring.

    Thread-safe: state lives behind one lock; the server runs in its own thread and loop, and
    waiting tests are woken with call_soon_threadsafe (async) or a Condition (sync).
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        callback_delay: float = 0.01,
        callback_attempts: int = 3,
        callback_retry_delay: float = 0.05,
        service_sender: str = "+15005550006",
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._validator = RequestValidator(auth_token)
        self.callback_delay = callback_delay
        self.callback_attempts = callback_attempts
        self.callback_retry_delay = callback_retry_delay
        self.callbacks_enabled = True
        # The sender a Messaging Service picks when a message names no From.
        self.service_sender = service_sender
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._messages: list[SentSms] = []
        self._by_sid: dict[str, SentSms] = {}
        self._consumed: dict[str, int] = {}
        self._failures: dict[str, deque[tuple[int, int, str | None]]] = {}
        self._outcomes: dict[str, tuple[str, int | None]] = {}
        self._stalls: dict[str, float] = {}
        self._resets: dict[str, bool] = {}
        self._callbacks: list[CallbackDelivery] = []
        self._requests: list[RestRequest] = []
        # Server-loop side.
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        self._server = LocalServer(
            Starlette(routes=[
                Route(f"{base}/Messages.json", self._create, methods=["POST"]),
                Route(f"{base}/Messages.json", self._list, methods=["GET"]),
                Route(f"{base}/Messages/{{sid}}.json", self._fetch, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "DELETE", "PUT"]),
            ]),
            name="fake-twilio", on_start=self._on_start, on_stop=self._on_stop,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        """Start serving on an ephemeral port; returns once requests are accepted."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending status callbacks are cancelled. Idempotent."""
        self._server.stop()

    def __enter__(self) -> FakeTwilio:
        """`with FakeTwilio() as fake:` starts it..."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """...and stops it."""
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: what replaces `https://api.twilio.com`."""
        return self._server.url

    @property
    def port(self) -> int:
        """The TCP port it listens on (127.0.0.1)."""
        return self._server.port

    @property
    def account_sid(self) -> str:
        """The account SID (Basic auth user, and the account in every path)."""
        return self._account_sid

    @property
    def auth_token(self) -> str:
        """The auth token (Basic auth password, and the key of every signature)."""
        return self._auth_token

    async def _on_start(self) -> None:
        self._client = httpx.AsyncClient(timeout=10.0, trust_env=False)

    async def _on_stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- test-side configuration ---------------------------------------------------------------

    def fail_next(
        self, to: str, code: int, status: int = 400, message: str | None = None, times: int = 1
    ) -> None:
        """Make the next `times` creates to `to` fail with Twilio's error `code` and `status`."""
        with self._lock:
            self._failures.setdefault(to, deque()).extend([(status, code, message)] * times)

    def stall_next(self, to: str, seconds: float) -> None:
        """Create the next message to `to`, then answer only after `seconds` (the client
        times out: the message exists, the answer is lost)."""
        with self._lock:
            self._stalls[to] = seconds

    def reset_next(self, to: str, *, created: bool) -> None:
        """Reset the connection of the next create to `to` (TCP RST, no answer) after reading
        the whole request: with `created` the message exists (the answer was lost), without
        it Twilio never took it. Either way the client cannot tell which."""
        with self._lock:
            self._resets[to] = created

    def set_outcome(
        self, to: str, status: str = "delivered", error_code: int | None = None
    ) -> None:
        """The final status of later messages to `to`: delivered, undelivered or failed."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final message status: {status!r}")
        if status != "delivered" and error_code is None:
            error_code = DEFAULT_OUTCOME_ERRORS[status]
        with self._lock:
            self._outcomes[to] = (status, None if status == "delivered" else error_code)

    def reset(self) -> None:
        """Forget messages, callbacks, requests, failures and outcomes."""
        with self._lock:
            for store in (self._messages, self._callbacks, self._requests):
                store.clear()
            for mapping in (self._by_sid, self._consumed, self._failures, self._outcomes,
                            self._resets):
                mapping.clear()
            self._notify_locked()

    # -- test-side reading ---------------------------------------------------------------------

    def messages(self, to: str | None = None) -> list[SentSms]:
        """Messages created so far (to `to` only, if given), oldest first."""
        with self._lock:
            return [dataclasses.replace(m) for m in self._messages if to in (None, m.to)]

    def message(self, sid: str) -> SentSms:
        """The message with this SID (KeyError if none)."""
        with self._lock:
            return dataclasses.replace(self._by_sid[sid])

    def unread(self, to: str) -> int:
        """How many messages to `to` no `next_message` call has returned yet."""
        with self._lock:
            total = sum(1 for m in self._messages if m.to == to)
            return total - self._consumed.get(to, 0)

    def callbacks(self) -> list[CallbackDelivery]:
        """Every status callback delivery attempt so far, oldest first."""
        with self._lock:
            return list(self._callbacks)

    def requests(self) -> list[RestRequest]:
        """Every REST request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    async def next_message(self, to: str, timeout: float = 30.0) -> SentSms:  # noqa: ASYNC109
        """The next message to `to` that no earlier call returned (waits up to `timeout`)."""

        def take() -> SentSms | None:
            with self._lock:
                mine = [m for m in self._messages if m.to == to]
                seen = self._consumed.get(to, 0)
                if seen >= len(mine):
                    return None
                self._consumed[to] = seen + 1
                return dataclasses.replace(mine[seen])

        try:
            return await self.wait_until(take, timeout)
        except AssertionError:
            bodies = [m.body for m in self.messages(to)]
            raise AssertionError(
                f"no new SMS to {to} within {timeout} s (all messages to it: {bodies})"
            ) from None

    async def wait_callbacks(self, count: int, timeout: float = 30.0) -> list[CallbackDelivery]:  # noqa: ASYNC109
        """Await at least `count` callback delivery attempts; returns them all."""

        def enough() -> list[CallbackDelivery] | None:
            found = self.callbacks()
            return found if len(found) >= count else None

        return await self.wait_until(enough, timeout)

    async def wait_until(self, predicate: Callable[[], T | None], timeout: float = 30.0) -> T:  # noqa: ASYNC109
        """Await a truthy `predicate()`, re-checked on every change of the fake's state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter = (loop, asyncio.Event())
        try:
            while True:
                with self._lock:
                    waiter[1].clear()
                    self._async_waiters.add(waiter)
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter[1].wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 30.0) -> T:
        """Block this thread until `predicate()` is truthy (not from the bot's own loop)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._version
            result = predicate()
            if result:
                return result
            with self._changed:
                while self._version == seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise AssertionError(f"condition not met within {timeout} s")
                    self._changed.wait(remaining)

    def _notify_locked(self) -> None:
        self._version += 1
        self._changed.notify_all()
        for waiter in list(self._async_waiters):
            try:
                waiter[0].call_soon_threadsafe(waiter[1].set)
            except RuntimeError:  # that test's loop is gone
                self._async_waiters.discard(waiter)

    # -- incoming SMS (Twilio → bot) -----------------------------------------------------------

    def inbound_form(
        self,
        *,
        from_: str,
        to: str,
        body: str,
        message_sid: str | None = None,
        messaging_service_sid: str | None = None,
        extra: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        """The form Twilio posts for an incoming SMS (`extra` adds, replaces or drops: None)."""
        sid = message_sid or _new_sid("SM")
        form = {
            "ToCountry": _country(to), "ToState": "", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
            "FromCity": "", "Body": body, "FromCountry": _country(from_), "To": to,
            "MessagingServiceSid": messaging_service_sid, "ToZip": "",
            "NumSegments": str(count_segments(body)), "MessageSid": sid,
            "AccountSid": self._account_sid, "From": from_, "ApiVersion": API_VERSION,
            **(extra or {}),
        }
        return {key: value for key, value in form.items() if value is not None}

    def sms_to_bot(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str,
        message_sid: str | None = None,
        signature: str | EllipsisType | None = ...,
        extra: Mapping[str, str | None] | None = None,
        idempotency_token: str | None = None,
        post_to: str | None = None,
        messaging_service_sid: str | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST an incoming SMS like Twilio does; returns the bot's response.

        The signature is computed over `url` (the public URL the bot validates against) unless
        `signature` gives one or is None (no header); the request goes to `post_to or url`.
        Blocks this thread: do not call it from the event loop the bot runs in (`asms_to_bot`).
        """
        form, headers = self._inbound(
            url, from_, to, body, message_sid, signature, extra, idempotency_token,
            messaging_service_sid,
        )
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            return client.post(post_to or url, data=form, headers=headers)

    async def asms_to_bot(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str,
        message_sid: str | None = None,
        signature: str | EllipsisType | None = ...,
        extra: Mapping[str, str | None] | None = None,
        idempotency_token: str | None = None,
        post_to: str | None = None,
        messaging_service_sid: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> httpx.Response:
        """The async twin of `sms_to_bot`."""
        form, headers = self._inbound(
            url, from_, to, body, message_sid, signature, extra, idempotency_token,
            messaging_service_sid,
        )
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            return await client.post(post_to or url, data=form, headers=headers)

    def _inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str,
        message_sid: str | None,
        signature: str | EllipsisType | None,
        extra: Mapping[str, str | None] | None,
        idempotency_token: str | None,
        messaging_service_sid: str | None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        form = self.inbound_form(
            from_=from_, to=to, body=body, message_sid=message_sid,
            messaging_service_sid=messaging_service_sid, extra=extra,
        )
        headers = {"User-Agent": "TwilioProxy/1.1", "Accept": "*/*"}
        if signature is ...:
            headers["X-Twilio-Signature"] = self._validator.compute_signature(url, form)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        if idempotency_token is not None:
            headers["I-Twilio-Idempotency-Token"] = idempotency_token
        return form, headers

    # -- the REST API --------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        return await self._answer(request, self._create_message)

    async def _fetch(self, request: Request) -> Response:
        return await self._answer(request, self._fetch_message)

    async def _list(self, request: Request) -> Response:
        return await self._answer(request, self._list_messages)

    async def _not_found(self, request: Request) -> Response:
        return await self._answer(request, None)

    async def _answer(
        self, request: Request, action: Callable[[Request, dict[str, str]], JSON] | None
    ) -> Response:
        started = time.perf_counter()
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        status, code = (201 if request.method == "POST" else 200), None
        with self._lock:
            reset = (self._resets.pop(form.get("To", ""), None) if request.method == "POST"
                     else None)
        try:
            if action is None:
                raise TwilioError(404, 20404, path=request.url.path)
            self._authenticate(request)
            if reset is False:  # the connection drops before Twilio takes the message
                raise _Reset
            payload = action(request, form)
            if reset:
                raise _Reset
        except TwilioError as error:
            status, code, payload = error.status, error.code, error.payload()
        except _Reset:
            assert request.client is not None
            self._server.reset_connection((request.client.host, request.client.port))
            return Response(status_code=500)  # never written: the connection is gone
        with self._lock:
            stall = self._stalls.pop(form.get("To", ""), 0.0) if status == 201 else 0.0
        if stall:
            await asyncio.sleep(stall)
        headers = {"Twilio-Request-Id": _new_sid("RQ")}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        with self._lock:
            self._requests.append(RestRequest(
                request.method, request.url.path, form, status, code, time.time(),
                time.perf_counter() - started,
            ))
            self._notify_locked()
        return JSONResponse(payload, status, headers=headers)

    def _authenticate(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if (
            scheme.lower() != "basic"
            or (user, password) != (self._account_sid, self._auth_token)
            or request.path_params["account_sid"] != self._account_sid
        ):
            raise TwilioError(401, 20003)

    def _create_message(self, request: Request, form: dict[str, str]) -> JSON:
        to, body = form.get("To", ""), form.get("Body", "")
        from_ = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        if not to:
            raise TwilioError(400, 21604)
        if not E164.fullmatch(to):
            raise TwilioError(400, 21211, to=to)
        if from_ is None and service is None:
            raise TwilioError(400, 21603)
        if from_ is not None and not _valid_sender(from_):
            raise TwilioError(400, 21212, from_=from_)
        if service is not None and not service.startswith("MG"):
            raise TwilioError(400, 21701, sid=service)
        if not body:
            raise TwilioError(400, 21602)
        if len(body) > MAX_BODY_LENGTH:
            raise TwilioError(400, 21617)
        now = datetime.now(UTC)
        with self._lock:
            failures = self._failures.get(to)
            if failures:
                status, code, text = failures.popleft()
                raise TwilioError(status, code, text, to=to, from_=from_ or "", sid=service or "")
            message = SentSms(
                sid=_new_sid("SM"), to=to, from_=from_, messaging_service_sid=service, body=body,
                status="accepted" if service else "queued", num_segments=count_segments(body),
                status_callback=form.get("StatusCallback") or None, error_code=None,
                created_at=now, updated_at=now,
            )
            outcome = self._outcomes.get(to, ("delivered", None))
            self._messages.append(message)
            self._by_sid[message.sid] = message
            self._notify_locked()
            resource = self._resource_locked(message)
        task = asyncio.get_running_loop().create_task(self._progress(message.sid, *outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return resource

    def _fetch_message(self, request: Request, form: dict[str, str]) -> JSON:
        with self._lock:
            message = self._by_sid.get(request.path_params["sid"])
            if message is None:
                raise TwilioError(404, 20404, path=request.url.path)
            return self._resource_locked(message)

    def _list_messages(self, request: Request, form: dict[str, str]) -> JSON:
        """The Messages list: filtered as Twilio filters (`DateSent` a `YYYY-MM-DD` date or an
        ISO instant; `DateSent<` on or before, `DateSent>` on or after; a message not sent
        yet has no send date and matches no date filter), newest first, a page at a time."""
        query = request.query_params
        try:
            size = min(int(query.get("PageSize", "50")), 1000)
            page = int(query.get("Page", "0"))
            tests = [_date_test(query[key], key) for key in ("DateSent", "DateSent<", "DateSent>")
                     if key in query]
        except ValueError as error:
            raise TwilioError(400, 20001, f"Invalid filter: {error}") from None
        with self._lock:
            found = [m for m in reversed(self._messages)
                     if query.get("To", m.to) == m.to
                     and query.get("From", m.from_) == m.from_
                     and all(m.sent_at is not None and test(m.sent_at) for test in tests)]
            shown = [self._resource_locked(m) for m in found[page * size:(page + 1) * size]]
        path = f"/{API_VERSION}/Accounts/{self._account_sid}/Messages.json"
        filters = "".join(f"{urlencode({key: value})}&" for key, value in query.items()
                          if key not in ("Page", "PageSize", "PageToken"))

        def uri(number: int) -> str:
            return f"{path}?{filters}PageSize={size}&Page={number}"

        more = len(found) > (page + 1) * size
        return {
            "end": page * size + max(0, len(shown) - 1), "first_page_uri": uri(0),
            "messages": shown,
            "next_page_uri": uri(page + 1) + f"&PageToken=PA{uuid.uuid4().hex}" if more else None,
            "page": page, "page_size": size,
            "previous_page_uri": uri(page - 1) if page else None,
            "start": page * size, "uri": uri(page),
        }

    def _resource_locked(self, message: SentSms) -> JSON:
        """The Message resource as Twilio renders it (same field order)."""
        uri = f"/{API_VERSION}/Accounts/{self._account_sid}/Messages/{message.sid}"
        return {
            "body": message.body,
            # A Messaging Service picks the sender (and so the encoding) after "accepted".
            "num_segments": "0" if message.status == "accepted" else str(message.num_segments),
            "direction": "outbound-api",
            "from": message.from_,
            "to": message.to,
            "date_updated": _rfc2822(message.updated_at),
            "price": None,
            "error_message": message.error_message,
            "uri": f"{uri}.json",
            "account_sid": self._account_sid,
            "num_media": "0",
            "status": message.status,
            "messaging_service_sid": message.messaging_service_sid,
            "sid": message.sid,
            "date_sent": _rfc2822(message.sent_at),
            "date_created": _rfc2822(message.created_at),
            "error_code": message.error_code,
            "price_unit": "USD",
            "api_version": API_VERSION,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        }

    # -- status progression and callbacks (Twilio → bot) ---------------------------------------

    async def _progress(self, sid: str, final: str, error_code: int | None) -> None:
        """sent → delivered/undelivered; a failed message is never sent."""
        steps = [final] if final == "failed" else ["sent", final]
        for step in steps:
            await asyncio.sleep(self.callback_delay)
            with self._lock:
                message = self._by_sid.get(sid)
                if message is None:  # reset() forgot it
                    return
                message.status = step
                message.updated_at = datetime.now(UTC)
                if step == "sent":
                    message.sent_at = message.updated_at
                    message.from_ = message.from_ or self.service_sender
                elif step != "delivered":
                    message.error_code = error_code
                    message.error_message = ERROR_MESSAGES.get(error_code or 0)
                self._notify_locked()
                url = message.status_callback if self.callbacks_enabled else None
                params = {
                    "SmsSid": sid, "SmsStatus": step, "MessageStatus": step, "To": message.to,
                    "MessagingServiceSid": message.messaging_service_sid, "MessageSid": sid,
                    "AccountSid": self._account_sid, "From": message.from_ or self.service_sender,
                    "ApiVersion": API_VERSION,
                    "ErrorCode": None if step in ("sent", "delivered") else str(error_code),
                }
            if url is not None:
                await self._post_callback(url, {k: v for k, v in params.items() if v is not None})

    async def _post_callback(self, url: str, params: dict[str, str]) -> None:
        """POST one signed status callback, retrying on a non-2xx answer or no connection."""
        assert self._client is not None
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),  # the same for every retry
            "User-Agent": "TwilioProxy/1.1",
        }
        for attempt in range(1, self.callback_attempts + 1):
            status_code, error = None, None
            try:
                response = await self._client.post(url, data=params, headers=headers)
                status_code = response.status_code
            except httpx.HTTPError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            delivery = CallbackDelivery(url, params, status_code, error, attempt, time.time())
            with self._lock:
                self._callbacks.append(delivery)
                self._notify_locked()
            if delivery.ok:
                return
            if attempt < self.callback_attempts:
                await asyncio.sleep(self.callback_retry_delay * attempt)
