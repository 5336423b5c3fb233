"""A local fake SS 12000 server (v2 REST), built from the interface notes in
`shared/specs/ss12000-absence.md`, for tests and benchmarks.

It serves, under `/v2`, what a school system offers an absence bot: organisations,
persons (and `/persons/lookup`), groups, duties (`expand=person`), calendar events
(`expand=attendance`, `/lookup`), attendances, absences (GET and POST), deletedEntities
and subscriptions; and `POST /token` (OAuth2 client credentials, form-encoded, as
John-Hammer's demo server does). Like the servers in the notes it:

- wants `Authorization: Bearer <token>` on every call (401 otherwise, and once a token
  has expired: `expire_tokens()`);
- pages with an opaque `pageToken` that carries the query; a token combined with any other
  filter than `limit` is 400; the last page's token is `null`, or left out
  (`end_with_missing_token`), and a page is at most `max_page` items whatever the limit;
- answers 503 to a `/lookup` of more than `max_lookup` ids (too large);
- answers 403 to what `deny(...)` names, and 404 to `/attendances` when not offered;
- keeps `meta.created`/`meta.modified` by its own clock (`meta.modified.after` is exclusive)
  and a log of deletions for `/deletedEntities` (`{data: {persons: [...]}, pageToken}`);
- posts `{"modifiedEntities": [...]}` (or the draft's `modifiedEntites`) and
  `{"deletedEntities": true}` to its subscriptions' targets when told (`notify`).

The test side changes data through `put`, `delete` and `roll_call`, and reads what was
asked (`requests`) and written (`absences`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.telegram_api import LocalServer

JSON = dict[str, Any]
BASE = "/v2"
#: Collection paths by the entity kind the test side names.
PATHS = {"organisation": "organisations", "person": "persons", "group": "groups",
         "duty": "duties", "event": "calendarEvents", "attendance": "attendances",
         "absence": "absences"}
#: deletedEntities keys and Code_ObjectType names by kind.
PLURAL = {"person": "persons", "group": "groups", "duty": "duties",
          "attendance": "attendances", "event": "calendarEvents", "absence": "absences",
          "organisation": "organisations"}
OBJECT_TYPE = {"person": "Person", "group": "Group", "duty": "Duty", "attendance": "Attendance",
               "event": "CalendarEvent", "absence": "Absence", "organisation": "Organisation"}


class Refusal(Exception):
    """An error answer: `{code, message}` with a status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    params: list[tuple[str, str]]
    authorization: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class FakeSS12000:
    """The fake server and its test-side API (thread-safe; serves from its own thread)."""

    def __init__(self, *, client_id: str = "narvaro", client_secret: str = "s3cret-Närvaro",
                 token_lifetime: float = 3600, max_page: int = 100,
                 max_lookup: int = 200) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.max_page = max_page
        self.max_lookup = max_lookup
        self.end_with_missing_token = False
        self.offer_attendances = True
        self.offer_subscriptions = True
        #: deletedEntities as John-Hammer's server gives it: `{data: [{entityType, id}]}`;
        #: None: not offered (404).
        self.deleted_style: str | None = "nested"
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._data: dict[str, dict[str, JSON]] = {kind: {} for kind in PATHS}
        #: Which unit an attendance or event belongs to (not part of the entity).
        self._unit_of: dict[str, str] = {}
        self._attendance_of: dict[tuple[str, str], str] = {}
        self._deleted: list[tuple[datetime, str, str]] = []
        self._denied: set[tuple[str, str]] = set()
        self._stall: dict[tuple[str, str], float] = {}
        self._failures: dict[tuple[str, str], list[int]] = {}
        #: Bumped on every change: a list read page by page is worked out once per version.
        self._version = 0
        self._lists: dict[str, tuple[int, Any]] = {}
        self.subscriptions: dict[str, JSON] = {}
        self.requests: list[Seen] = []
        self.token_requests = 0
        routes = [
            Route("/token", self._token, methods=["POST"]),
            Route(BASE + "/{path:path}", self._api, methods=["GET", "POST", "PATCH", "DELETE"]),
        ]
        self._server = LocalServer(Starlette(routes=routes), name="fake-ss12000")

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeSS12000:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        """The API base (`http://127.0.0.1:<port>/v2`)."""
        return self._server.url + BASE

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return self._server.url + "/token"

    def env(self, *units: str) -> dict[str, str]:
        """NARVARO_SS12000_* for this server, following `units` (codes or ids)."""
        return {"NARVARO_SS12000_URL": self.url, "NARVARO_SS12000_TOKEN_URL": self.token_url,
                "NARVARO_SS12000_CLIENT_ID": self.client_id,
                "NARVARO_SS12000_CLIENT_SECRET": self.client_secret,
                "NARVARO_SS12000_SCHOOL_UNITS": ",".join(units)}

    # -- test side: data ---------------------------------------------------------------------

    def put(self, kind: str, entity: JSON, *, unit: str | None = None) -> JSON:
        """Store (or change) an entity; its `meta.modified` becomes now."""
        with self._lock:
            entity = copy.deepcopy(entity)
            entity.setdefault("id", str(uuid.uuid4()))
            now = _stamp(_now())
            old = self._data[kind].get(entity["id"])
            created = (old or {}).get("meta", {}).get("created", now)
            entity["meta"] = {"created": created, "modified": now}
            self._data[kind][entity["id"]] = entity
            self._version += 1
            if unit is not None:
                self._unit_of[entity["id"]] = unit
            return copy.deepcopy(entity)

    def load(self, kind: str, entities: Iterable[JSON], *, unit_of: dict[str, str] | None = None,
             at: datetime | None = None) -> None:
        """Store many entities at once (a data set), as changed last `at` (default now)."""
        with self._lock:
            now = _stamp(at or _now())
            for entity in entities:
                entity.setdefault("id", str(uuid.uuid4()))
                entity["meta"] = {"created": now, "modified": now}
                self._data[kind][entity["id"]] = entity
            self._unit_of.update(unit_of or {})
            self._version += 1

    def get(self, kind: str, entity_id: str) -> JSON:
        """A copy of a stored entity."""
        with self._lock:
            return copy.deepcopy(self._data[kind][entity_id])

    def delete(self, kind: str, entity_id: str) -> None:
        """Delete an entity; `/deletedEntities` reports it from now on."""
        with self._lock:
            self._data[kind].pop(entity_id)
            self._deleted.append((_now(), kind, entity_id))
            self._version += 1

    def roll_call(self, event_id: str, student_id: str, *, absent: int = 0, valid: int = 0,
                  present: int | None = None, teacher: str | None = None) -> JSON:
        """A teacher reports a student's lesson: `absent` minutes without a valid reason,
        `valid` with one, `present` minutes there (default: the rest of the lesson)."""
        with self._lock:
            event = self._data["event"][event_id]
            length = int((datetime.fromisoformat(event["endTime"]) - datetime.fromisoformat(
                event["startTime"])).total_seconds() // 60)
            known = self._attendance_of.get((event_id, student_id))
            existing = self._data["attendance"].get(known) if known else None
            body: JSON = {
                "id": existing["id"] if existing else str(uuid.uuid4()),
                "calendarEvent": {"id": event_id}, "student": {"id": student_id},
                "isReported": True,
                "attendanceMinutes": length - absent - valid if present is None else present,
                "validAbsenceMinutes": valid, "invalidAbsenceMinutes": absent,
                "otherAttendanceMinutes": 0, "reportedTimestamp": _stamp(_now())}
            if teacher:
                body["reporter"] = {"id": teacher}
            self._attendance_of[(event_id, student_id)] = body["id"]
            return self.put("attendance", body, unit=self._unit_of.get(event_id))

    def absences(self) -> list[JSON]:
        """Every Absence the server holds (those POSTed among them)."""
        with self._lock:
            return copy.deepcopy(list(self._data["absence"].values()))

    # -- test side: behaviour ----------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token handed out so far stops working (401)."""
        with self._lock:
            self._tokens.clear()

    def deny(self, method: str, path: str) -> None:
        """Answer 403 to `method` on `path` (e.g. "GET", "duties")."""
        with self._lock:
            self._denied.add((method, path))

    def fail_next(self, method: str, path: str, status: int, times: int = 1) -> None:
        """Answer `status` to the next `times` calls of `method path` (an outage)."""
        with self._lock:
            self._failures.setdefault((method, path), []).extend([status] * times)

    def stall(self, method: str, path: str, seconds: float) -> None:
        """Do the next `method path`, then wait `seconds` before answering (a lost answer)."""
        with self._lock:
            self._stall[(method, path)] = seconds

    def asked(self, path: str) -> list[Seen]:
        """The requests made to `path` (e.g. "persons")."""
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    async def notify(self, types: list[str] | None = None, *, deleted: bool = False,
                     spelling: str = "modifiedEntities") -> list[int]:
        """Post a change notification to every subscription's target; their statuses."""
        body: JSON = {"deletedEntities": True} if deleted else {spelling: types or []}
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            return [(await client.post(sub["target"], json=body)).status_code
                    for sub in list(self.subscriptions.values())]

    # -- server ------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id, self.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
        return JSONResponse({"access_token": token, "token_type": "bearer",
                             "expires_in": int(self.token_lifetime)})

    async def _api(self, request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        params = list(request.query_params.multi_items())
        with self._lock:
            self.requests.append(Seen(request.method, path, params,
                                      request.headers.get("authorization")))
        try:
            self._authorize(request)
            if (request.method, path.split("/")[0]) in self._denied or (
                    request.method, path) in self._denied:
                raise Refusal(403, "Not authorised")
            with self._lock:
                failures = self._failures.get((request.method, path))
                failure = failures.pop(0) if failures else None
            if failure is not None:
                raise Refusal(failure, "Service unavailable")
            body = await request.json() if request.method in ("POST", "PATCH") and (
                await request.body()) else None
            status, answer = self._route(request.method, path, params, body)
            stall = self._stall.pop((request.method, path), 0.0)
        except Refusal as refusal:
            return JSONResponse({"code": str(refusal.status), "message": str(refusal)},
                                status_code=refusal.status)
        if stall:
            await asyncio.sleep(stall)
        if answer is None:
            return Response(status_code=status)
        return JSONResponse(answer, status_code=status)

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None or expires < time.monotonic():
            raise Refusal(401, "Missing or expired bearer token")

    def _route(self, method: str, path: str, params: list[tuple[str, str]],
               body: Any) -> tuple[int, Any]:
        parts = path.split("/")
        kind = next((k for k, p in PATHS.items() if p == parts[0]), None)
        if parts[0] == "deletedEntities" and method == "GET" and self.deleted_style:
            page = self._page(params, self._deleted_since, "deleted")
            if self.deleted_style == "flat":
                page["data"] = [{"entityType": OBJECT_TYPE[kind], "id": entity_id}
                                for kind, plural in PLURAL.items()
                                for entity_id in page["data"].get(plural, [])]
            return 200, page
        if parts[0] == "subscriptions":
            return self._subscriptions(method, parts, body)
        if kind is None or (kind == "attendance" and not self.offer_attendances):
            raise Refusal(404, "Not found")
        if len(parts) == 2 and parts[1] == "lookup" and method == "POST":
            ids = list((body or {}).get("ids") or [])
            if len(ids) > self.max_lookup:
                raise Refusal(503, "The answer would be too large")
            with self._lock:
                return 200, [copy.deepcopy(self._data[kind][i]) for i in ids
                             if i in self._data[kind]]
        if len(parts) == 1 and method == "GET":
            return 200, self._page(params, lambda query: self._list(kind, query), kind)
        if kind == "absence" and len(parts) == 1 and method == "POST":
            missing = [k for k in ("startTime", "endTime", "type", "student") if k not in body]
            if missing or body["type"] not in ("Anmäld frånvaro", "Beviljad ledighet"):
                raise Refusal(400, f"Invalid absence: {', '.join(missing) or 'type'}")
            return 200, self.put("absence", {k: v for k, v in body.items()
                                             if k not in ("id", "meta")})
        if len(parts) == 2 and method == "GET":
            with self._lock:
                if parts[1] not in self._data[kind]:
                    raise Refusal(404, "Not found")
                return 200, copy.deepcopy(self._data[kind][parts[1]])
        raise Refusal(404, "Not found")

    # -- paging --------------------------------------------------------------------------------

    def _page(self, params: list[tuple[str, str]], produce: Any, name: str) -> JSON:
        names = {name for name, _ in params}
        limit = int(dict(params).get("limit") or self.max_page)
        if "pageToken" in names:
            if names - {"pageToken", "limit"}:
                raise Refusal(400, "pageToken cannot be combined with other filters")
            try:
                state = json.loads(base64.urlsafe_b64decode(dict(params)["pageToken"]))
            except ValueError:
                raise Refusal(400, "Bad pageToken") from None
            query, offset = [tuple(pair) for pair in state["q"]], state["o"]
        else:
            query, offset = [p for p in params if p[0] != "limit"], 0
        key = json.dumps([name, query])
        with self._lock:
            version = self._version
            cached = self._lists.get(key)
        if cached is not None and cached[0] == version:
            items = cached[1]
        else:
            items = produce(query)
            with self._lock:
                self._lists = {key: (version, items)}  # the list being paged through
        size = min(limit, self.max_page)
        if isinstance(items, dict):  # deletedEntities: one page of each list
            return {"data": items, "pageToken": None}
        page = self._expand(copy.deepcopy(items[offset:offset + size]), query)
        answer: JSON = {"data": page}
        if offset + size < len(items):
            token = json.dumps({"q": query, "o": offset + size}).encode()
            answer["pageToken"] = base64.urlsafe_b64encode(token).decode()
        elif not self.end_with_missing_token:
            answer["pageToken"] = None
        return answer

    def _list(self, kind: str, query: list[tuple[str, str]]) -> list[JSON]:
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        after = values.get("meta.modified.after", [None])[0]
        with self._lock:
            items = list(self._data[kind].values())
            unit_of = dict(self._unit_of)
        if after:
            moment = datetime.fromisoformat(after)
            items = [i for i in items if datetime.fromisoformat(i["meta"]["modified"]) > moment]
        units = values.get("organisation") or values.get("relationship.organisation")
        if kind == "person" and units:
            items = [p for p in items if any(e["enroledAt"]["id"] in units
                                             for e in p.get("enrolments") or [])]
        elif kind == "group":
            if units:
                items = [g for g in items if g["organisation"]["id"] in units]
            if types := values.get("groupType"):
                items = [g for g in items if g["groupType"] in types]
        elif kind == "duty" and units:
            items = [d for d in items if d["dutyAt"]["id"] in units]
        elif kind in ("attendance", "event") and units:
            key = (lambda a: a["calendarEvent"]["id"]) if kind == "attendance" else (
                lambda e: e["id"])
            items = [i for i in items if unit_of.get(key(i)) in units]
        elif kind == "absence" and (students := values.get("student")):
            items = [a for a in items if a["student"]["id"] in students]
        if kind == "event":
            first, last = (values.get("startTime.onOrAfter"), values.get("startTime.onOrBefore"))
            if not first or not last:
                raise Refusal(400, "startTime.onOrAfter and startTime.onOrBefore are required")
            low, high = datetime.fromisoformat(first[0]), datetime.fromisoformat(last[0])
            items = [e for e in items
                     if low <= datetime.fromisoformat(e["startTime"]) <= high]
        return sorted(items, key=lambda i: i["id"])

    def _expand(self, items: list[JSON], query: list[tuple[str, str]]) -> list[JSON]:
        """Inline what `expand` asks for into a page (copies)."""
        expand = [value for name, value in query if name == "expand"]
        with self._lock:
            persons = self._data["person"]
            attendance = list(self._data["attendance"].values()) if "attendance" in expand else []
        kind = "duty" if items and "dutyAt" in items[0] else (
            "event" if items and "startTime" in items[0] and "activity" in items[0] else "")
        if kind == "duty" and "person" in expand:
            for duty in items:
                if duty.get("person", {}).get("id") in persons:
                    duty["_embedded"] = {"person": copy.deepcopy(persons[duty["person"]["id"]])}
        if kind == "event" and "attendance" in expand:
            for event in items:
                event["_embedded"] = {"attendance": copy.deepcopy(
                    [a for a in attendance if a["calendarEvent"]["id"] == event["id"]])}
        return items

    def _deleted_since(self, query: list[tuple[str, str]]) -> JSON:
        values = dict(query)
        after = datetime.fromisoformat(values["after"]) if values.get("after") else None
        wanted = {name for key, name in query if key == "entities"}
        found: dict[str, list[str]] = {}
        with self._lock:
            for moment, kind, entity_id in self._deleted:
                if (after is None or moment > after) and (
                        not wanted or OBJECT_TYPE[kind] in wanted):
                    found.setdefault(PLURAL[kind], []).append(entity_id)
        return found

    # -- subscriptions -------------------------------------------------------------------------

    def _subscriptions(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        if not self.offer_subscriptions:
            raise Refusal(404, "Not found")
        expires = _stamp(_now() + timedelta(days=90))
        with self._lock:
            if method == "POST" and len(parts) == 1:
                if not body or not body.get("target") or not body.get("resourceTypes"):
                    raise Refusal(400, "name, target and resourceTypes are required")
                subscription = {"id": str(uuid.uuid4()), "name": body.get("name", ""),
                                "target": body["target"], "resourceTypes": body["resourceTypes"],
                                "expires": expires}
                self.subscriptions[subscription["id"]] = subscription
                return 201, subscription
            if method == "GET" and len(parts) == 1:
                return 200, {"data": list(self.subscriptions.values()), "pageToken": None}
            if len(parts) == 2 and parts[1] in self.subscriptions:
                if method == "PATCH":
                    self.subscriptions[parts[1]]["expires"] = expires
                    return 200, self.subscriptions[parts[1]]
                if method == "DELETE":
                    del self.subscriptions[parts[1]]
                    return 204, None
                if method == "GET":
                    return 200, self.subscriptions[parts[1]]
        raise Refusal(404, "Not found")
