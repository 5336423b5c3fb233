"""The fake Twilio REST API, driven by the real `twilio` client (async, aiohttp)."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from tests.fakes.telegram_api import LocalServer
from tests.fakes.twilio_api import FakeTwilio, count_segments

PARENT = "+46701234567"
SCHOOL = "+46761234567"
SERVICE = "MG" + "1" * 32
SID_RE = re.compile(r"SM[0-9a-f]{32}")


class RewritingHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client aimed at the fake; auth as a header (aiohttp deprecates auth=)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10.0)
        self.base_url = base_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Send to the fake instead of https://api.twilio.com."""
        url = url.replace("https://api.twilio.com", self.base_url, 1)
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        return await super().request(
            method, url, params=params, data=data, headers=headers, auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


@dataclass
class Received:
    """A request the receiver got."""

    url: str
    form: dict[str, str]
    headers: dict[str, str]


class Receiver:
    """A tiny webhook server standing in for the bot; answers `statuses` in turn, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self.server = LocalServer(
            Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])]),
            name="twilio-receiver",
        )

    async def _hook(self, request: Request) -> Response:
        # request.form() needs python-multipart, which the project does not install.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        with self._lock:
            self.received.append(Received(str(request.url), form, dict(request.headers)))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response("<Response/>", status, media_type="text/xml")

    def url(self, path: str) -> str:
        """The public URL of `path` on this receiver."""
        return f"{self.server.url}{path}"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    """A fake Twilio API with fast callbacks."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running webhook receiver."""
    hooks = Receiver()
    hooks.server.start()
    yield hooks
    hooks.server.stop()


async def _client(fake: FakeTwilio, auth_token: str | None = None, **kwargs: Any) -> Client:
    # async: aiohttp's ClientSession (made in AsyncTwilioHttpClient.__init__) needs a running loop.
    return Client(
        fake.account_sid, auth_token or fake.auth_token,
        http_client=RewritingHttpClient(fake.base_url), **kwargs,
    )


@pytest.fixture
async def client(fake: FakeTwilio) -> AsyncIterator[Client]:
    """The real twilio Client on the fake; its aiohttp session is closed afterwards."""
    twilio = await _client(fake)
    yield twilio
    await twilio.http_client.close()


def _validate(fake: FakeTwilio, received: Received) -> bool:
    signature = received.headers.get("x-twilio-signature", "")
    return RequestValidator(fake.auth_token).validate(received.url, received.form, signature)


async def test_create_answers_like_twilio(fake: FakeTwilio, client: Client) -> None:
    message = await client.messages.create_async(to=PARENT, from_=SCHOOL, body="Hej! Åsa är sjuk.")
    assert isinstance(message, MessageInstance)
    assert SID_RE.fullmatch(message.sid or "")
    assert (message.status, message.num_segments, message.num_media) == ("queued", "1", "0")
    assert (message.to, message.from_, message.direction) == (PARENT, SCHOOL, "outbound-api")
    assert message.account_sid == fake.account_sid and message.api_version == "2010-04-01"
    assert message.date_created is not None and message.date_created.tzinfo is not None
    assert message.price is None and message.error_code is None and message.date_sent is None
    assert message.uri == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    sent = await fake.next_message(PARENT)
    assert (sent.sid, sent.body, sent.num_segments) == (message.sid, "Hej! Åsa är sjuk.", 1)
    assert fake.unread(PARENT) == 0
    [request] = fake.requests()
    assert (request.method, request.status, request.form["To"]) == ("POST", 201, PARENT)


async def test_messaging_service_and_fetch(fake: FakeTwilio, client: Client) -> None:
    message = await client.messages.create_async(
        to=PARENT, messaging_service_sid=SERVICE, body="x" * 161
    )
    assert (message.status, message.num_segments, message.from_) == ("accepted", "0", None)
    fake.wait_for(lambda: fake.message(message.sid or "").status == "delivered", timeout=2)
    fetched = await client.messages(message.sid or "").fetch_async()
    assert (fetched.status, fetched.num_segments) == ("delivered", "2")
    assert fetched.from_ == fake.service_sender and fetched.date_sent is not None
    with pytest.raises(TwilioRestException) as raised:
        await client.messages("SM" + "0" * 32).fetch_async()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_segments() -> None:
    assert count_segments("a" * 160) == 1 and count_segments("a" * 161) == 2
    assert count_segments("åäöÅÄÖé" * 20) == 1  # Swedish letters are GSM-7
    assert count_segments("€" * 80) == 1 and count_segments("€" * 81) == 2  # escape + septet
    assert count_segments("ł" * 70) == 1 and count_segments("ł" * 71) == 2  # UCS-2
    assert count_segments("😀" * 35) == 1 and count_segments("😀" * 36) == 2  # surrogates


async def test_wrong_credentials(fake: FakeTwilio) -> None:
    for twilio in (
        await _client(fake, auth_token="0" * 32),
        await _client(fake, account_sid="AC" + "f" * 32),  # another account in the path
    ):
        try:
            with pytest.raises(TwilioRestException) as raised:
                await twilio.messages.create_async(to=PARENT, from_=SCHOOL, body="Hej")
        finally:
            await twilio.http_client.close()
        assert (raised.value.status, raised.value.code) == (401, 20003)
        assert raised.value.msg == "Unable to create record: Authenticate"
    assert fake.messages() == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": ""}, 21604),
        ({"to": "0701234567"}, 21211),
        ({"from_": None}, 21603),
        ({"from_": "Not a sender!"}, 21212),
        ({"from_": "NarvaroSkolan"}, 21212),  # 13 characters
        ({"from_": None, "messaging_service_sid": "XX" + "1" * 32}, 21701),
        ({"body": ""}, 21602),
        ({"body": "x" * 1601}, 21617),
    ],
)
async def test_validation(client: Client, kwargs: dict[str, Any], code: int) -> None:
    args: dict[str, Any] = {"to": PARENT, "from_": SCHOOL, "body": "Hej", **kwargs}
    with pytest.raises(TwilioRestException) as raised:
        await client.messages.create_async(**args)
    assert (raised.value.status, raised.value.code) == (400, code)


async def test_alphanumeric_sender(client: Client) -> None:
    message = await client.messages.create_async(to=PARENT, from_="Skolan 7", body="Hej")
    assert message.from_ == "Skolan 7"


async def test_fail_next(fake: FakeTwilio, client: Client) -> None:
    fake.fail_next(PARENT, 21610)
    fake.fail_next(PARENT, 20500, status=500, times=2)
    with pytest.raises(TwilioRestException) as raised:
        await client.messages.create_async(to=PARENT, from_=SCHOOL, body="Hej")
    assert (raised.value.status, raised.value.code) == (400, 21610)
    assert "Attempt to send to unsubscribed recipient" in raised.value.msg
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=PARENT, from_=SCHOOL, body="Hej")
        assert (raised.value.status, raised.value.code) == (500, 20500)
    await client.messages.create_async(to=SCHOOL, from_=PARENT, body="other number")
    await client.messages.create_async(to=PARENT, from_=SCHOOL, body="Hej")
    assert [r.status for r in fake.requests()] == [400, 500, 500, 201, 201]
    assert [m.to for m in fake.messages()] == [SCHOOL, PARENT]


async def test_status_callbacks_are_signed(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    url = receiver.url("/twilio/status?school=1")
    message = await client.messages.create_async(
        to=PARENT, from_=SCHOOL, body="Hej", status_callback=url
    )
    deliveries = await fake.wait_callbacks(2)
    assert [d.message_status for d in deliveries] == ["sent", "delivered"]
    assert all(d.ok and d.url == url for d in deliveries)
    assert [r.form["MessageStatus"] for r in receiver.received] == ["sent", "delivered"]
    for received in receiver.received:
        assert received.url == url and _validate(fake, received)
        assert received.form["MessageSid"] == received.form["SmsSid"] == message.sid
        assert (received.form["To"], received.form["From"]) == (PARENT, SCHOOL)
        assert received.form["AccountSid"] == fake.account_sid
        assert received.form["ApiVersion"] == "2010-04-01" and "ErrorCode" not in received.form
    assert fake.message(message.sid or "").status == "delivered"


async def test_undelivered_and_failed_outcomes(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    fake.set_outcome(PARENT, "undelivered", error_code=30007)
    fake.set_outcome(SCHOOL, "failed")
    url = receiver.url("/status")
    first = await client.messages.create_async(
        to=PARENT, from_=SCHOOL, body="a", status_callback=url
    )
    await client.messages.create_async(to=SCHOOL, from_=PARENT, body="b", status_callback=url)
    deliveries = await fake.wait_callbacks(3)
    by_to = {(d.params["To"], d.message_status): d.params for d in deliveries}
    assert by_to[PARENT, "undelivered"]["ErrorCode"] == "30007"
    assert by_to[SCHOOL, "failed"]["ErrorCode"] == "30008"  # a failed message is never sent
    assert set(by_to) == {(PARENT, "sent"), (PARENT, "undelivered"), (SCHOOL, "failed")}
    assert all(_validate(fake, received) for received in receiver.received)
    fetched = await client.messages(first.sid or "").fetch_async()
    assert (fetched.status, fetched.error_code, fetched.error_message) == (
        "undelivered", 30007, "Message filtered"
    )


async def test_callback_retries_and_switch(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    fake.callback_retry_delay = 0.01
    receiver.statuses = [500, 503]
    await client.messages.create_async(
        to=PARENT, from_=SCHOOL, body="a", status_callback=receiver.url("/s")
    )
    deliveries = await fake.wait_callbacks(4)
    assert [(d.message_status, d.status_code, d.attempt) for d in deliveries] == [
        ("sent", 500, 1), ("sent", 503, 2), ("sent", 200, 3), ("delivered", 200, 1)
    ]
    tokens = {r.headers["i-twilio-idempotency-token"] for r in receiver.received[:3]}
    assert len(tokens) == 1  # retries repeat the token

    fake.callbacks_enabled = False
    message = await client.messages.create_async(
        to=PARENT, from_=SCHOOL, body="b", status_callback=receiver.url("/s")
    )
    await fake.wait_until(lambda: fake.message(message.sid or "").status == "delivered")
    assert len(fake.callbacks()) == 4


def test_sms_to_bot_is_signed(fake: FakeTwilio, receiver: Receiver) -> None:
    url = receiver.url("/twilio/sms")
    response = fake.sms_to_bot(
        url, from_=PARENT, to=SCHOOL, body="Sjuk idag", idempotency_token="tok-1"
    )
    assert response.status_code == 200 and response.text == "<Response/>"
    [received] = receiver.received
    assert _validate(fake, received)
    form = received.form
    assert SID_RE.fullmatch(form["MessageSid"])
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert (form["From"], form["To"], form["Body"]) == (PARENT, SCHOOL, "Sjuk idag")
    assert (form["FromCountry"], form["ToCountry"]) == ("SE", "SE")
    assert (form["SmsStatus"], form["NumMedia"], form["NumSegments"]) == ("received", "0", "1")
    assert form["AccountSid"] == fake.account_sid and "MessagingServiceSid" not in form
    assert received.headers["i-twilio-idempotency-token"] == "tok-1"

    fake.sms_to_bot(url, from_=PARENT, to=SCHOOL, body="x", signature=None, message_sid="SM1")
    assert "x-twilio-signature" not in receiver.received[1].headers
    assert receiver.received[1].form["MessageSid"] == "SM1"
    fake.sms_to_bot(url, from_=PARENT, to=SCHOOL, body="x", signature="forged")
    assert not _validate(fake, receiver.received[2])


async def test_asms_to_bot_behind_a_proxy(fake: FakeTwilio, receiver: Receiver) -> None:
    public = "https://narvaro.example.se/twilio/sms"
    response = await fake.asms_to_bot(
        public, post_to=receiver.url("/sms"), from_=PARENT, to=SCHOOL, body="Hej",
        messaging_service_sid=SERVICE, extra={"NumMedia": None, "FromCity": "Lund"},
    )
    assert response.status_code == 200
    [received] = receiver.received
    form = received.form
    assert form["MessagingServiceSid"] == SERVICE and form["FromCity"] == "Lund"
    assert "NumMedia" not in form
    signature = received.headers["x-twilio-signature"]
    assert RequestValidator(fake.auth_token).validate(public, form, signature)
    assert not _validate(fake, received)  # not valid over the URL it really reached


def test_unknown_route(fake: FakeTwilio) -> None:
    response = httpx.get(f"{fake.base_url}/2010-04-01/Nothing.json", trust_env=False)
    assert response.status_code == 404 and response.json()["code"] == 20404
