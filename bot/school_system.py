"""Wiring the school-system connector (SS 12000) into the runtime: settings to connector,
its timers on the scheduler, its webhook on the web server, its state on /healthz."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.settings import Settings
from connectors.ss12000.client import Credentials, SS12000Error
from connectors.ss12000.connector import NOTIFY_PATH, SS12000Connector
from connectors.ss12000.sync import SS12000Config
from policy.clock import Clock
from policy.presets import PolicyPreset
from storage.connectors import health
from storage.db import session_scope

log = logging.getLogger(__name__)
SYNC_JOB, REPORTS_JOB = "ss12000-sync", "ss12000-reports"
#: Reports go back at least this often (a sync's interval may be longer).
REPORTS_INTERVAL_SECONDS = 10.0
MAX_CALLBACK_BODY = 64 * 1024


def build_connector(settings: Settings, engine: Engine, clock: Clock,
                    policy: PolicyPreset) -> SS12000Connector | None:
    """The SS 12000 connector the settings describe, or None."""
    if not settings.ss12000_url:
        return None
    cert = ((settings.ss12000_client_cert, settings.ss12000_client_key)
            if settings.ss12000_client_cert and settings.ss12000_client_key else None)
    config = SS12000Config(
        url=settings.ss12000_url, units=tuple(settings.ss12000_units),
        timezone=settings.timezone,
        credentials=Credentials(
            token_url=settings.ss12000_token_url, client_id=settings.ss12000_client_id,
            client_secret=settings.ss12000_client_secret, scope=settings.ss12000_scope,
            cert=cert))
    return SS12000Connector(config, engine, clock, policy, public_url=settings.public_url,
                            reports=settings.ss12000_reports)


class ConnectorJobs:
    """The connector's jobs on the scheduler: a sync every `interval` seconds (and at once
    on start), reports back more often. Each runs in a worker thread; `finish` waits for
    the one in progress (its thread holds a database connection)."""

    def __init__(self, scheduler: AsyncIOScheduler, connector: SS12000Connector, *,
                 interval: float, after: Callable[[], None] = lambda: None) -> None:
        """Add the jobs to `scheduler`; `after` runs after each sync (wakes the sender)."""
        self.connector = connector
        self.after = after
        self.scheduler = scheduler
        self._running = asyncio.Lock()
        #: A change announced while a sync runs: that sync may have read past it, so another
        #: follows at once (the scheduler would skip a second instance).
        self._again = False
        scheduler.add_job(self._sync, "interval", seconds=interval, id=SYNC_JOB,
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.add_job(self._push, "interval",
                          seconds=min(interval, REPORTS_INTERVAL_SECONDS), id=REPORTS_JOB,
                          max_instances=1, coalesce=True)

    async def _in_thread(self, work: Callable[[], object]) -> bool:
        async with self._running:
            task = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                await asyncio.wait([task])  # stopping: let the thread finish with its work
                return False
            except SS12000Error:
                return False  # kept for /healthz and logged by the sync
            except Exception:
                log.exception("ss12000: %s failed", getattr(work, "__name__", "job"))
                return False
            return True

    async def _sync(self) -> None:
        while True:
            self._again = False
            if await self._in_thread(self.connector.sync):
                self.after()
            if not self._again:
                return

    def sync_soon(self) -> None:
        """Sync now: at once, or right after the sync in progress."""
        self._again = True
        if self.scheduler.get_job(SYNC_JOB) is not None:
            self.scheduler.modify_job(SYNC_JOB, next_run_time=datetime.now(UTC))

    async def _push(self) -> None:
        await self._in_thread(self.connector.push_reports)

    async def finish(self) -> None:
        """Wait for a job in progress (call after the scheduler has stopped)."""
        async with self._running:
            pass


def webhook_route(connector: SS12000Connector, jobs: ConnectorJobs) -> Route:
    """`POST /ss12000/notify/<secret>`: the server says something changed; sync now."""

    async def notify(request: Request) -> Response:
        secret = request.path_params["secret"]
        if not await asyncio.to_thread(connector.callback_ok, secret):
            log.warning("ss12000 callback refused: wrong address")
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_CALLBACK_BODY:
            return Response(status_code=413)
        try:
            payload: Any = json.loads(body or b"{}")
        except ValueError:
            return Response(status_code=400)
        if connector.callback_changes(payload):
            jobs.sync_soon()
        return Response(status_code=200)

    return Route(NOTIFY_PATH + "{secret}", notify, methods=["POST"])


def health_of(engine: Engine) -> Callable[[], dict[str, Any]]:
    """What /healthz adds: each connector's last sync, error and report queue."""

    def read() -> dict[str, Any]:
        with session_scope(engine) as session:
            found = health(session)
        return {"connectors": found} if found else {}

    return read
