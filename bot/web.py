"""The web server: health, the local web chat and (in later issues) webhooks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bot.dispatcher import Dispatcher
from bot.sms import SIGNATURE_HEADER as TWILIO_SIGNATURE
from bot.sms import SMS_PATH, STATUS_PATH, TwilioSms
from bot.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramBot
from handlers.inbox import MAX_TEXT, handle_incoming
from handlers.messages import Incoming
from locales import LANGUAGES, N_, RIGHT_TO_LEFT, gettext_for, normalize_language
from policy.clock import Clock
from storage.db import session_scope
from storage.models import Person
from storage.outbox import messages_for
from storage.people import search_people

log = logging.getLogger(__name__)
#: Twilio's webhooks are a few KiB at most (a 1,600-character SMS and its fields).
MAX_WEBHOOK_BODY = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
STATIC = Path(__file__).parent / "static"
UI_STRINGS = {
    "title": N_("Närvaro web chat"),
    "pick": N_("Chat as someone in the roster"),
    "search": N_("Search by name"),
    "send": N_("Send"),
    "placeholder": N_("Write a message"),
    "back": N_("Back to the roster"),
    "guardian_of": N_("guardian of {names}"),
    "student": N_("student, class {name}"),
    "mentor": N_("mentor"),
    "principal": N_("principal"),
    "nurse": N_("school nurse"),
    "counsellor": N_("counsellor"),
    "coordinator": N_("coordinator"),
}


class WebApp:
    """Routes for the web server; holds the engine, clock and dispatcher it needs."""

    def __init__(
        self, engine: Engine, clock: Clock, dispatcher: Dispatcher | None, *, webchat: bool,
        channels: list[str], telegram: TelegramBot | None = None, sms: TwilioSms | None = None,
    ) -> None:
        """Wire the routes; the web chat only when `webchat` is on, and Telegram's webhook
        when `telegram` is given."""
        self.engine = engine
        self.clock = clock
        self.dispatcher = dispatcher
        self.channels = channels
        self.telegram = telegram
        self.sms = sms
        routes = [Route("/healthz", self.healthz)]
        if sms is not None:
            routes.append(Route(SMS_PATH, self.twilio_sms, methods=["POST"]))
            routes.append(Route(STATUS_PATH, self.twilio_status, methods=["POST"]))
        if telegram is not None:
            routes.append(Route(WEBHOOK_PATH, self.telegram_webhook, methods=["POST"]))
        if webchat:
            routes += [
                Route("/", self.index),
                Route("/webchat/api/ui", self.ui),
                Route("/webchat/api/people", self.people),
                Route("/webchat/api/people/{person_id:int}/messages", self.messages),
                Route(
                    "/webchat/api/people/{person_id:int}/messages", self.send, methods=["POST"]
                ),
            ]
        self.app = Starlette(routes=routes)

    async def healthz(self, request: Request) -> Response:
        """200 with a small status when the database answers, else 503."""
        try:
            await asyncio.to_thread(self._ping)
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": "ok", "channels": self.channels,
             "time": self.clock.now().isoformat()}
        )

    def _ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def telegram_webhook(self, request: Request) -> Response:
        """An update from Telegram: checked against our secret, handled before answering."""
        assert self.telegram is not None
        if not self.telegram.secret_matches(request.headers.get(SECRET_HEADER)):
            log.warning("telegram webhook refused: wrong or missing secret token")
            return Response(status_code=403)
        try:
            data = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return Response(status_code=400)
        if not await self.telegram.process_webhook(data):
            return Response(status_code=500)  # Telegram delivers it again later
        return Response(status_code=200)

    async def _twilio_form(self, request: Request, path: str) -> dict[str, str] | Response:
        """The webhook's parameters if Twilio signed them for our public URL, else the
        refusal to answer (403 unsigned or forged, 413 oversized)."""
        assert self.sms is not None
        signature = request.headers.get(TWILIO_SIGNATURE)
        if not signature:
            log.warning("twilio webhook %s refused: no signature", path)
            return Response(status_code=403)
        body = await _body_within(request, MAX_WEBHOOK_BODY)
        if body is None:
            log.warning("twilio webhook %s refused: body over %d bytes", path, MAX_WEBHOOK_BODY)
            return Response(status_code=413)
        # Twilio posts application/x-www-form-urlencoded; parsed here without multipart.
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not self.sms.signature_valid(path, params, signature):
            log.warning("twilio webhook %s refused: wrong signature", path)
            return Response(status_code=403)
        return params

    async def twilio_sms(self, request: Request) -> Response:
        """An incoming SMS: handled (once per MessageSid); the answers go out by the REST API."""
        params = await self._twilio_form(request, SMS_PATH)
        if isinstance(params, Response):
            return params
        assert self.sms is not None
        await self.sms.receive(params)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def twilio_status(self, request: Request) -> Response:
        """A delivery status for a message we sent."""
        params = await self._twilio_form(request, STATUS_PATH)
        if isinstance(params, Response):
            return params
        assert self.sms is not None
        await self.sms.status(params)
        return Response(status_code=204)

    async def index(self, request: Request) -> Response:
        """The web chat page."""
        return FileResponse(STATIC / "webchat.html", media_type="text/html; charset=utf-8")

    async def ui(self, request: Request) -> Response:
        """The page's own texts in the language asked for."""
        language = normalize_language(request.query_params.get("lang"))
        return JSONResponse(
            {
                "language": language,
                "languages": list(LANGUAGES),
                "dir": "rtl" if language in RIGHT_TO_LEFT else "ltr",
                "strings": {key: gettext_for(language, text) for key, text in UI_STRINGS.items()},
            }
        )

    async def people(self, request: Request) -> Response:
        """People in the roster matching `?q=`."""
        query = request.query_params.get("q", "")[:100]

        def find() -> list[dict[str, Any]]:
            with session_scope(self.engine) as session:
                return [
                    {"id": item.person_id, "name": item.name, "language": item.language,
                     "staff": [{"school": school, "role": role} for school, role in item.staff],
                     "children": item.children, "student_class": item.student_class}
                    for item in search_people(session, query)
                ]

        return JSONResponse(await asyncio.to_thread(find))

    async def messages(self, request: Request) -> Response:
        """What the bot has delivered to this person in the web chat, after `?after=`."""
        person_id = int(request.path_params["person_id"])
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse({"error": "after must be a number"}, status_code=400)

        def load() -> list[dict[str, Any]] | None:
            with session_scope(self.engine) as session:
                person = session.get(Person, person_id)
                if person is None:
                    return None
                return [
                    {"id": m.id, "text": m.text, "choices": m.choices or [], "status": m.status,
                     "dir": "rtl" if normalize_language(m.language) in RIGHT_TO_LEFT else "ltr"}
                    for m in messages_for(
                        session, recipient_id=person_id, channel="webchat", after_id=after
                    )
                    if m.status in {"sent", "delivered"}
                ]

        found = await asyncio.to_thread(load)
        if found is None:
            return JSONResponse({"error": "no such person"}, status_code=404)
        return JSONResponse(found)

    async def send(self, request: Request) -> Response:
        """A message typed (or a button tapped) in the web chat, as this person."""
        person_id = int(request.path_params["person_id"])
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "send JSON: {\"text\": …}"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        message_text = str(body.get("text") or "")
        choice = body.get("choice")
        if len(message_text) > MAX_TEXT:
            return JSONResponse(
                {"error": f"message longer than {MAX_TEXT} characters"}, status_code=413
            )
        if not message_text.strip() and not choice:
            return JSONResponse({"error": "empty message"}, status_code=400)
        ref = str(body.get("ref") or uuid.uuid4())[:64]
        incoming = Incoming(
            person_id=person_id, channel="webchat", ref=ref, text=message_text,
            choice=str(choice) if choice else None,
        )

        def handle() -> bool:
            with session_scope(self.engine) as session:
                if session.get(Person, person_id) is None:
                    return False
                handle_incoming(session, incoming, now=self.clock.now())
                return True

        if not await asyncio.to_thread(handle):
            return JSONResponse({"error": "no such person"}, status_code=404)
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return JSONResponse({"ok": True, "ref": ref}, status_code=202)


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
