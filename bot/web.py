"""The web server: health, the local web chat and (in later issues) webhooks."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Route

from bot.dispatcher import Dispatcher
from bot.overview import OverviewPages
from bot.sms import SIGNATURE_HEADER as TWILIO_SIGNATURE
from bot.sms import SMS_PATH, STATUS_PATH, TwilioSms
from bot.telegram import DATABASE_PATIENCE, SECRET_HEADER, WEBHOOK_PATH, TelegramBot
from bot.webauth import COOKIE, LOGIN_PATH, SESSION_VALID, TARGETS, SignIn, WebIds
from bot.webguard import BrowserGuard, BrowserRules
from handlers.inbox import MAX_TEXT, handle_incoming
from handlers.messages import Incoming
from locales import LANGUAGES, N_, RIGHT_TO_LEFT, gettext_for, normalize_language
from policy.attendance import parse_attendance_rows
from policy.clock import Clock
from policy.text import clean_text
from storage.attendance import (
    apply_attendance,
    closed_days,
    record_roll_call,
    resolve_student,
    student_resolver,
)
from storage.db import database_busy, read_scope, session_scope
from storage.models import Person, School, SchoolClass
from storage.outbox import messages_for
from storage.people import count_people, search_people

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Twilio's webhooks are a few KiB at most (a 1,600-character SMS and its fields).
MAX_WEBHOOK_BODY = 64 * 1024
#: A Telegram update with a 4,096-character text and its entities is far below this.
MAX_TELEGRAM_BODY = 256 * 1024
ATTENDANCE_PATH = "/api/attendance"
MAX_API_BODY = 1024 * 1024
PAYLOAD_FIELDS = ("records", "classes", "school", "date")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
STATIC = Path(__file__).parent / "static"
SIGN_IN_PAGE = ('<!doctype html><meta charset="utf-8"><title>Närvaro</title>'
                '<form method="post"><noscript><button>Närvaro →</button></noscript></form>'
                "<script>document.forms[0].submit()</script>")
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
    "sign_in": N_("Staff sign in with their phone number"),
    "sign_in_send": N_("Send me a sign-in link"),
    "sign_in_sent": N_("If the number belongs to school staff, a sign-in link is on its way."),
    "sign_out": N_("Sign out"),
    "group_staff": N_("Staff"),
    "group_guardians": N_("Guardians, class {name}"),
    "group_students": N_("Students, class {name}"),
    "group_others": N_("Others"),
    "shown_of": N_("Showing {shown} of {total}: write a name to find the others."),
    "clock": N_("The school's time"),
    "too_long": N_("Not sent: a message can be at most {n} characters. Shorten it, or send "
                   "it in parts."),
    "not_sent": N_("Not sent: please try again in a moment."),
}


class WebApp:
    """Routes for the web server; holds the engine, clock and dispatcher it needs."""

    def __init__(
        self, engine: Engine, clock: Clock, dispatcher: Dispatcher | None, *, webchat: bool,
        channels: list[str], telegram: TelegramBot | None = None, sms: TwilioSms | None = None,
        api_token: str | None = None, timezone: tzinfo | None = None,
        sign_in: SignIn | None = None, country: str = "SE", overview: SignIn | None = None,
        browser: BrowserRules | None = None, ids: WebIds | None = None,
        extra_routes: list[BaseRoute] | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Wire the routes; the web chat only when `webchat` is on, Telegram's webhook
        when `telegram` is given, and the attendance API when `api_token` is set
        (`timezone` gives its "today"). With `sign_in` the web chat is for staff signed in
        with a one-time link (phones read as in `country`), each acting only as themselves.
        With `overview` (the same SignIn, or one of its own) the staff overview is served.
        `browser` says which host names and origins the pages serve (loopback only by
        default); `ids` makes the ids in the pages' addresses. `extra_routes` are served
        too (a connector's webhook: a machine's path, not a page's), and `health()` adds to
        /healthz (a connector's last sync; never personal data)."""
        self.engine = engine
        self.clock = clock
        self.dispatcher = dispatcher
        self.channels = channels
        self.telegram = telegram
        self.sms = sms
        self.api_token = api_token
        self.timezone = timezone
        self.sign_in = sign_in
        self.country = country
        self.ids = ids or WebIds()
        routes: list[BaseRoute] = [Route("/healthz", self.healthz)]
        if api_token:
            routes.append(Route(ATTENDANCE_PATH, self.attendance, methods=["POST"]))
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
                Route("/webchat/api/people/{person}/messages", self.messages),
                Route("/webchat/api/people/{person}/messages", self.send, methods=["POST"]),
            ]
            if sign_in is not None:
                routes += [Route("/webchat/api/sign-in", self.ask_link, methods=["POST"]),
                           Route("/webchat/api/sign-out", self.sign_out, methods=["POST"])]
        #: Who signs links in: the web chat's sign-in, else the overview's.
        self.signer = sign_in if webchat and sign_in is not None else overview
        if self.signer is not None:
            routes += [Route(LOGIN_PATH + "{token}", self.login_page),
                       Route(LOGIN_PATH + "{token}", self.login, methods=["POST"])]
        if overview is not None:
            routes += OverviewPages(engine, clock, overview, dispatcher, country=country,
                                   ids=self.ids).routes
        routes += extra_routes or []
        self.health = health
        machine_paths = {"/healthz", ATTENDANCE_PATH, SMS_PATH, STATUS_PATH, WEBHOOK_PATH,
                         *(route.path.split("{")[0] for route in extra_routes or []
                           if isinstance(route, Route))}
        self.app = Starlette(routes=routes, middleware=[Middleware(
            BrowserGuard, rules=browser or BrowserRules(), machine_paths=machine_paths)])

    async def healthz(self, request: Request) -> Response:
        """200 with a small status when the database answers, else 503."""
        try:
            await asyncio.to_thread(self._ping)
            extra = await asyncio.to_thread(self.health) if self.health else {}
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": "ok", "channels": self.channels,
             "time": self.clock.now().isoformat(),
             "timezone": str(self.timezone) if self.timezone else "UTC", **extra}
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
        body = await _body_within(request, MAX_TELEGRAM_BODY)
        if body is None:
            log.warning("telegram webhook refused: body over %d bytes", MAX_TELEGRAM_BODY)
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Response(status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return Response(status_code=400)
        # JSON of the wrong shape is answered 200 and dropped: a 4xx or 5xx would have
        # Telegram deliver it again and again, and it can never be handled.
        handled = await self.telegram.process_webhook(data)
        if handled is None:
            return Response(status_code=200)
        if not handled:
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

    async def attendance(self, request: Request) -> Response:
        """Roll call from a school system: JSON records, validated whole, then recorded."""
        if not self._bearer_valid(request.headers.get("authorization", "")):
            log.warning("attendance api refused: missing or wrong bearer token")
            return JSONResponse({"error": "a valid Authorization: Bearer token is needed"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body = await _body_within(request, MAX_API_BODY)
        if body is None:
            log.warning("attendance api refused: body over %d bytes", MAX_API_BODY)
            return JSONResponse({"error": f"the body is over {MAX_API_BODY} bytes"},
                                status_code=413)
        payload = _attendance_payload(body)
        if isinstance(payload, list):
            log.warning("attendance api refused: %d shape problem(s)", len(payload))
            return JSONResponse({"problems": payload}, status_code=400)
        try:
            result = await asyncio.to_thread(self._record_attendance, payload)
        except IntegrityError:
            # Two requests for the same rows at once: the loser's upsert collides with the
            # winner's insert; once more, it finds the rows and updates them instead.
            result = await asyncio.to_thread(self._record_attendance, payload)
        if isinstance(result, list):
            log.warning("attendance api refused: %d problem(s), nothing recorded", len(result))
            return JSONResponse({"problems": result}, status_code=422)
        log.info("attendance api: %d record(s), %d class(es) recorded: %s",
                 len(payload.rows), len(payload.classes), result)
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return JSONResponse({"recorded": result})

    def _bearer_valid(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        assert self.api_token
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.api_token.encode()
        )

    def _record_attendance(self, payload: AttendancePayload) -> dict[str, int] | list[str]:
        """Validate the records (and classes) against the roster, then record them all,
        or nothing and the problems."""
        now = self.clock.now()
        today = (now.astimezone(self.timezone) if self.timezone else now).date()
        with session_scope(self.engine) as session:
            students = student_resolver(session)
            records, problems = parse_attendance_rows(
                payload.rows, lambda school, sid: resolve_student(students, school, sid),
                today=today, closed=closed_days(session),
            )
            found = problems.items
            day = payload.day or today
            if payload.day is not None and payload.day > today:
                found.append("date is in the future; roll call records what has happened")
            classes: list[int] = []
            for index, name in enumerate(payload.classes):
                class_id = _find_class(session, payload.school, name)
                if isinstance(class_id, str):
                    found.append(f"classes[{index}]: {class_id}")
                else:
                    classes.append(class_id)
            if found:
                return found
            counts = apply_attendance(session, records, now=now, source="api", actor="api")
            for class_id in classes:
                record_roll_call(session, class_id, day, source="api", now=now)
            return counts

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
                "sign_in": self.sign_in is not None,
                "max_text": MAX_TEXT,
            }
        )

    async def _acting_as(self, request: Request, token: str | None = None) -> int | Response:
        """Whom a request acts as: the person `token` (an address id) names, who must be the
        signed-in staff member when sign-in is on; with sign-in and no `token`, the signed-in
        one (0 for anyone, without sign-in). Otherwise the refusal: 401 nobody signed in (or
        no longer staff), 404 an id that is not genuine, 403 someone else."""
        signed_in: int | None = None
        if self.sign_in is not None:
            sign_in, cookie, now = self.sign_in, request.cookies.get(COOKIE), self.clock.now()

            def check() -> int | None:
                with read_scope(self.engine) as session:
                    person = sign_in.signed_in(session, cookie, now=now)
                    return person.id if person is not None else None

            signed_in = await asyncio.to_thread(check) if cookie else None
            if signed_in is None:
                return JSONResponse({"error": "sign in first"}, status_code=401)
        if token is None:
            return signed_in or 0
        person_id = self.ids.read("person", token)
        if person_id is None:
            return JSONResponse({"error": "no such person"}, status_code=404)
        if signed_in is not None and person_id != signed_in:
            return JSONResponse({"error": "only as yourself"}, status_code=403)
        return person_id

    async def ask_link(self, request: Request) -> Response:
        """A sign-in link to a staff member's phone; the same answer for any number."""
        assert self.sign_in is not None
        body = await _body_within(request, 4096)
        try:
            data = json.loads(body or b"")
        except (ValueError, RecursionError):
            data = None
        phone = clean_text(str(data.get("phone") or ""))[:40] if isinstance(data, dict) else ""
        sign_in = self.sign_in

        def send() -> None:
            with session_scope(self.engine) as session:
                sign_in.send_link(session, phone, country=self.country, now=self.clock.now())

        if phone:
            await asyncio.to_thread(send)
            if self.dispatcher is not None:
                self.dispatcher.wake()
        return JSONResponse({"ok": True}, status_code=202)

    async def login_page(self, request: Request) -> Response:
        """Opening a sign-in link shows a page that posts it back: a link preview (Telegram
        and messaging apps fetch links) must not use up the one-time link."""
        return HTMLResponse(SIGN_IN_PAGE)

    async def login(self, request: Request) -> Response:
        """A sign-in link opened: the session cookie, then the web chat (or the page the
        link names); once only."""
        assert self.signer is not None
        sign_in, token = self.signer, str(request.path_params["token"])[:300]

        def redeem() -> int | None:
            with session_scope(self.engine) as session:
                return sign_in.redeem(session, token, now=self.clock.now())

        person_id = await asyncio.to_thread(redeem)
        if person_id is None:
            return Response("This sign-in link is not valid (any more).", status_code=403,
                            media_type="text/plain; charset=utf-8")
        signed_in = person_id

        def start() -> str:
            with session_scope(self.engine) as session:
                return sign_in.start_session(session, signed_in, now=self.clock.now())

        cookie = await asyncio.to_thread(start)
        target, _wording = TARGETS.get(request.query_params.get("to", ""), TARGETS[""])
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int(SESSION_VALID.total_seconds()),
                            httponly=True, samesite="strict",
                            secure=sign_in.public_url.startswith("https://"))
        return response

    async def sign_out(self, request: Request) -> Response:
        """End this browser's session (the web chat's sign-out button)."""
        assert self.sign_in is not None
        sign_in, cookie = self.sign_in, request.cookies.get(COOKIE)

        def end() -> None:
            with session_scope(self.engine) as session:
                sign_in.sign_out(session, cookie)

        await asyncio.to_thread(end)
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    async def people(self, request: Request) -> Response:
        """People in the roster matching `?q=` (with sign-in: only oneself); each with the
        id to address them by."""
        acting = await self._acting_as(request)
        if isinstance(acting, Response):
            return acting
        query = clean_text(request.query_params.get("q", ""))[:100]
        only = acting if self.sign_in is not None else None

        def find() -> list[dict[str, Any]]:
            with read_scope(self.engine) as session:
                return [
                    {"id": self.ids.make("person", item.person_id), "name": item.name,
                     "language": item.language,
                     "staff": [{"school": school, "role": role} for school, role in item.staff],
                     "children": item.children, "student_class": item.student_class,
                     "child_classes": item.child_classes}
                    for item in search_people(session, query)
                    if only is None or item.person_id == only
                ]

        def total() -> int:
            with read_scope(self.engine) as session:
                return count_people(session, query)

        found = await asyncio.to_thread(find)
        # How many match in all: the page says when it shows only the first ones.
        count = len(found) if only is not None else await asyncio.to_thread(total)
        return JSONResponse(found, headers={"X-Total-Count": str(count)})

    async def messages(self, request: Request) -> Response:
        """What the bot has delivered to this person in the web chat, after `?after=`."""
        person_id = await self._acting_as(request, str(request.path_params["person"])[:100])
        if isinstance(person_id, Response):
            return person_id
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse({"error": "after must be a number"}, status_code=400)

        def load() -> list[dict[str, Any]] | None:
            with read_scope(self.engine) as session:
                person = session.get(Person, person_id)
                if person is None:
                    return None
                return [
                    {"id": m.id, "text": m.text, "choices": m.choices or [], "status": m.status,
                     "dir": "rtl" if normalize_language(m.language) in RIGHT_TO_LEFT else "ltr",
                     # Earlier messages whose buttons this one closes (a call that is off).
                     "closes": [c.get("id") for c in (m.attachment or {}).get("closes", [])
                                if isinstance(c, dict)]}
                    for m in messages_for(
                        session, recipient_id=person_id, channel="webchat", after_id=after
                    )
                    # a text cleared after its retention is no message to show
                    if m.status in {"sent", "delivered"} and m.text
                ]

        found = await asyncio.to_thread(load)
        if found is None:
            return JSONResponse({"error": "no such person"}, status_code=404)
        return JSONResponse(found)

    async def send(self, request: Request) -> Response:
        """A message typed (or a button tapped) in the web chat, as this person."""
        person_id = await self._acting_as(request, str(request.path_params["person"])[:100])
        if isinstance(person_id, Response):
            return person_id
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "send JSON: {\"text\": …}"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        message_text = clean_text(str(body.get("text") or ""))
        choice = clean_text(str(body.get("choice"))) if body.get("choice") else None
        if len(message_text) > MAX_TEXT:
            return JSONResponse(
                {"error": f"message longer than {MAX_TEXT} characters"}, status_code=413
            )
        if not message_text.strip() and not choice:
            return JSONResponse({"error": "empty message"}, status_code=400)
        ref = clean_text(str(body.get("ref") or "")).strip()[:64] or str(uuid.uuid4())
        incoming = Incoming(
            person_id=person_id, channel="webchat", ref=ref, text=message_text,
            choice=choice or None,
        )

        def handle() -> bool:
            with session_scope(self.engine, hold=True) as session:
                if session.get(Person, person_id) is None:
                    return False
                handle_incoming(session, incoming, now=self.clock.now())
                return True

        if not await _patiently(handle):
            return JSONResponse({"error": "no such person"}, status_code=404)
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return JSONResponse({"ok": True, "ref": ref}, status_code=202)


@dataclass(frozen=True)
class AttendancePayload:
    """The attendance API's body, shape checked: records as field → text, class names,
    the default school ("" for none) and the day the named classes' roll call is for."""

    rows: list[dict[str, str]]
    classes: list[str]
    school: str
    day: date | None


def _attendance_payload(body: bytes) -> AttendancePayload | list[str]:
    """The payload of an attendance API call, or what is wrong with its shape."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ["the body is not JSON (UTF-8)"]
    if not isinstance(data, dict):
        return ["the body must be a JSON object with a \"records\" list"]
    problems = [f"unknown field {name[:40]!r}; the fields are {', '.join(PAYLOAD_FIELDS)}"
                for name in data if name not in PAYLOAD_FIELDS]
    records, classes = data.get("records"), data.get("classes", [])
    school, day = data.get("school"), data.get("date")
    if not isinstance(records, list):
        problems.append("records must be a list of objects")
        records = []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        problems.append("classes must be a list of class names")
        classes = []
    if school is not None and not isinstance(school, str):
        problems.append("school must be a school name")
    parsed_day = _iso_date(day)
    if day is not None and parsed_day is None:
        problems.append("date must be a date such as 2026-11-23")
    default_school = clean_text(school).strip() if isinstance(school, str) else ""
    rows: list[dict[str, str]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(f"records[{index}] must be an object")
            continue
        row = _attendance_row(record, f"records[{index}]", problems)
        if not row.get("school", "").strip():
            row["school"] = default_school
        rows.append(row)
    if problems:
        return problems
    return AttendancePayload(rows, [clean_text(c).strip() for c in classes], default_school,
                             parsed_day)


def _attendance_row(record: dict[str, object], where: str, problems: list[str]
                    ) -> dict[str, str]:
    """A record of the attendance API as field → text (null as empty, numbers as written);
    a value of any other kind is left out, with a problem."""
    row: dict[str, str] = {}
    for name, value in record.items():
        if value is None:
            row[name] = ""
        elif isinstance(value, str):
            row[name] = clean_text(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            row[name] = str(value)
        else:
            problems.append(f"{where}.{name[:40]} must be text, a number or null")
    return row


def _iso_date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _find_class(session: Session, school: str, name: str) -> int | str:
    """The id of class `name` (at `school` if given), or a problem to report."""
    query = select(SchoolClass.id).join(
        School, col(School.id) == SchoolClass.school_id).where(SchoolClass.name == name)
    if school:
        query = query.where(School.name == school)
    found = list(session.execute(query).scalars())
    if len(found) == 1:
        return int(found[0])
    if found:
        return f"class {name[:100]!r} is in several schools; give \"school\""
    return f"no class {name[:100]!r}" + (f" at school {school[:200]}" if school else "")


async def _patiently(work: Callable[[], T]) -> T:
    """`work` in a thread, waiting out a busy (locked) or unreachable database for up to
    DATABASE_PATIENCE seconds rather than losing what a person wrote."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DATABASE_PATIENCE
    while True:
        try:
            return await asyncio.to_thread(work)
        except Exception as error:
            if not database_busy(error) or loop.time() >= deadline:
                raise
            await asyncio.sleep(1.0)


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
