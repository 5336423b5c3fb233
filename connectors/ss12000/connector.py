"""The SS 12000 connector as the runtime uses it: sync, write reports back, and keep a
webhook subscription where the server offers one (polling goes on either way).

The server's callback carries no ids and no data (`{"modifiedEntities": [...]}`, spelt
`modifiedEntites` in the draft, or `{"deletedEntities": true}`): it only starts the next
sync at once. The standard does not say how a callback proves who sent it, so the
address itself holds a secret (`/ss12000/notify/<secret>`), kept in the database.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from connectors.ss12000.client import AccessDenied, Client, NotOffered, SS12000Error
from connectors.ss12000.reports import ReportWriter
from connectors.ss12000.sync import NAME, SS12000Config, SS12000Sync, SyncResult
from policy.clock import Clock
from policy.presets import PolicyPreset
from storage import connectors as kept
from storage.db import session_scope

log = logging.getLogger(__name__)
NOTIFY_PATH = "/ss12000/notify/"
#: The entities whose changes we want to hear of.
RESOURCES = ("Person", "Group", "Duty", "Attendance")
#: Renew a subscription when less than this is left of it.
RENEW_BEFORE = timedelta(days=7)
#: After a server said it has no subscriptions, ask again only after this long.
ASK_AGAIN = timedelta(days=1)


class SS12000Connector:
    """Roster and roll call in, reports back, for one SS 12000 server."""

    name = NAME

    def __init__(self, config: SS12000Config, engine: Engine, clock: Clock,
                 policy: PolicyPreset, *, public_url: str | None = None,
                 reports: bool = True) -> None:
        """The connector; `public_url` is where the server can reach our webhook."""
        self.config = config
        self.engine = engine
        self.clock = clock
        self.public_url = public_url
        self.reports = reports
        self.syncer = SS12000Sync(config, engine, clock, policy)
        self.writer = ReportWriter(config, engine, clock)

    def sync(self, *, full: bool = False) -> SyncResult:
        """One sync (raises SS12000Error when the server cannot be used); then the webhook
        subscription is made or renewed where the server offers it."""
        result = self.syncer.run(full=full)
        if self.public_url:
            try:
                self.subscribe()
            except SS12000Error as error:
                log.warning("ss12000: no webhook subscription (%s); polling only", error)
        return result

    def push_reports(self) -> dict[str, int]:
        """Write the due reports back (nothing when writing back is off)."""
        return self.writer.push() if self.reports else {}

    # -- webhook --------------------------------------------------------------------------------

    def _secret(self) -> str:
        with session_scope(self.engine) as session:
            state = kept.state_of(session, NAME)
            secret = state.subscription.get("secret")
            if not secret:
                secret = secrets.token_urlsafe(24)
                state.subscription = {**state.subscription, "secret": secret}
            return str(secret)

    def notify_target(self) -> str:
        """The address the server posts its callbacks to."""
        assert self.public_url is not None
        return f"{self.public_url}{NOTIFY_PATH}{self._secret()}"

    def callback_ok(self, secret: str) -> bool:
        """Whether a callback's address holds our secret."""
        return hmac.compare_digest(secret.encode(), self._secret().encode())

    @staticmethod
    def callback_changes(body: Any) -> bool:
        """Whether a callback body names a change (either spelling of the key)."""
        if not isinstance(body, Mapping):
            return False
        modified = body.get("modifiedEntities", body.get("modifiedEntites")) or []
        return bool(modified) or body.get("deletedEntities") is True

    def subscribe(self) -> None:
        """Make a subscription, or renew one that runs out soon."""
        now = self.clock.now()
        target = self.notify_target()
        with session_scope(self.engine) as session:
            held = dict(kept.state_of(session, NAME).subscription)
        if held.get("not_offered") and now < datetime.fromisoformat(held["not_offered"]):
            return
        expires = datetime.fromisoformat(held["expires"]) if held.get("expires") else None
        if held.get("id") and held.get("target") == target and expires and (
                expires - now > RENEW_BEFORE):
            return
        with Client(self.config.url, self.config.credentials,
                    timeout=self.config.timeout) as client:
            answer: Any = None
            try:
                if held.get("id") and held.get("target") == target:
                    try:
                        answer = client.request("PATCH", f"subscriptions/{held['id']}")
                    except NotOffered:
                        answer = None  # gone on the server: make a new one
                if not answer:
                    answer = client.request("POST", "subscriptions", body={
                        "name": "Närvaro", "target": target,
                        "resourceTypes": [{"resource": name} for name in RESOURCES]})
            except (NotOffered, AccessDenied):  # not there, or not for us: poll, ask tomorrow
                held["not_offered"] = (now + ASK_AGAIN).isoformat()
                answer = None
        if answer:
            held.update({"id": str(answer.get("id")), "expires": answer.get("expires"),
                         "target": target})
            held.pop("not_offered", None)
            log.info("ss12000: webhook subscription %s until %s", held["id"], held["expires"])
        with session_scope(self.engine) as session:
            state = kept.state_of(session, NAME)
            state.subscription = {**held, "secret": state.subscription.get("secret")}
