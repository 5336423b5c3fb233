"""Wiring: settings → engine, clock, channels, dispatcher, scheduler and web server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import uvicorn
from sqlalchemy import Connection

from bot.channels.base import Channel
from bot.channels.local import ConsoleChannel, WebChatChannel
from bot.context import Context
from bot.demo import load_demo_if_empty, start_demo_clock
from bot.dispatcher import Dispatcher
from bot.logs import quiet_libraries
from bot.school_system import ConnectorJobs, build_connector, health_of, webhook_route
from bot.settings import Settings, is_loopback
from bot.sms import TwilioSms
from bot.startup import StartupError, port_problem
from bot.telegram import TelegramBot
from bot.web import WebApp
from bot.webauth import SignIn, WebIds
from bot.webguard import BrowserRules
from scheduler.runner import build_scheduler, stop_scheduler
from storage.db import session_scope
from storage.locks import try_session_lock
from storage.schools import unreadable_policies, without_terms

log = logging.getLogger(__name__)
POLLING_LOCK = "telegram:polling"
#: How often a worker that does not poll asks whether it should.
LEADER_RETRY_SECONDS = 5.0


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The local channels this configuration can send on (Telegram is added by the runtime)."""
    channels: dict[str, Channel] = {"console": ConsoleChannel()}
    if settings.webchat:
        channels["webchat"] = WebChatChannel()
    return channels


def configured_channels(settings: Settings) -> frozenset[str]:
    """Every channel this configuration uses: where a recipient's messages go, whichever
    process sends them."""
    names = set(build_channels(settings))
    if settings.telegram_enabled:
        names.add("telegram")
    if settings.twilio_enabled:
        names.add("sms")
    return frozenset(names)


@contextlib.asynccontextmanager
async def sending_channels(context: Context) -> AsyncIterator[dict[str, Channel]]:
    """The channels `narvaro run` sends on, opened to send only (no polling, no webhook):
    for `narvaro tick`. A channel that cannot be opened is left out with a warning; its
    messages stay pending."""
    settings = context.settings
    channels = build_channels(settings)
    telegram: TelegramBot | None = None
    sms: TwilioSms | None = None
    try:
        if settings.telegram_enabled:
            bot = TelegramBot(settings, context.engine, context.clock)
            try:
                await bot.app.initialize()  # getMe: the token works
            except Exception as error:  # its text may hold the token: name the kind only
                log.warning("telegram: could not connect (%s); its messages stay pending",
                            type(error).__name__)
            else:
                telegram = channels["telegram"] = bot
        if settings.twilio_enabled:
            sms = TwilioSms(settings, context.engine, context.clock,
                            default_language=context.policy.language)
            await sms.start()
            channels["sms"] = sms
        yield channels
    finally:
        if telegram is not None:
            with contextlib.suppress(Exception):
                await telegram.close()
        if sms is not None:
            with contextlib.suppress(Exception):
                await sms.close()


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT it caught is not raised again once
    it stops listening: the runtime still has parts to stop in order (then it exits 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Catch the signals as uvicorn does; forget them when done."""
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


class Runtime:
    """Everything `narvaro run` runs in one process: channels, dispatcher, scheduler, web."""

    def __init__(self, context: Context) -> None:
        """Wire the parts; nothing starts until `run`."""
        quiet_libraries()  # also when embedded without `main` (the tests do)
        self.context = context
        settings = context.settings
        self.channels = build_channels(settings)
        self.telegram = (
            TelegramBot(settings, context.engine, context.clock)
            if settings.telegram_enabled else None
        )
        if self.telegram is not None:
            self.channels["telegram"] = self.telegram
        self.sms = (
            TwilioSms(settings, context.engine, context.clock,
                      default_language=context.policy.language)
            if settings.twilio_enabled else None
        )
        if self.sms is not None:
            self.channels["sms"] = self.sms
        self.dispatcher = Dispatcher(
            context.engine, context.clock, self.channels,
            interval=settings.dispatch_interval_seconds, worker=settings.worker,
            lease=timedelta(seconds=settings.claim_lease_seconds),
            in_flight=settings.sends_in_flight, configured=configured_channels(settings),
        )
        if self.telegram is not None:
            # Answers go out at once through `deliver`; anything else a message caused
            # (a note to a mentor) goes with the dispatcher's next round.
            self.telegram.deliver = self.dispatcher.deliver
        if self.sms is not None:
            self.sms.deliver = self.dispatcher.deliver
        self.scheduler = build_scheduler(context.engine, context.clock,
                                         interval=settings.sweep_interval_seconds,
                                         after_sweep=self.dispatcher.wake)
        #: The school's own system (SS 12000), when configured: roster and roll call in,
        #: reports back, on the scheduler's timers; its webhook on the web server.
        self.connector = build_connector(settings, context.engine, context.clock,
                                         context.policy)
        self.connector_jobs = ConnectorJobs(
            self.scheduler, self.connector, interval=settings.ss12000_poll_seconds,
            after=self.dispatcher.wake) if self.connector is not None else None
        # One signer for the web chat and the overview: a session from either serves both.
        key = settings.webchat_secret.encode() if settings.webchat_secret else None
        sign_in = SignIn(settings.sign_in_url, key=key)
        self.web = WebApp(context.engine, context.clock, self.dispatcher,
                          webchat=settings.webchat, channels=sorted(self.channels),
                          telegram=self.telegram if settings.telegram_mode == "webhook" else None,
                          sms=self.sms, api_token=settings.api_token, timezone=settings.zone,
                          sign_in=sign_in if settings.webchat_exposed else None,
                          overview=sign_in if settings.overview_served else None,
                          country=context.policy.country, ids=WebIds(key),
                          browser=BrowserRules.for_address(
                              http_host=settings.http_host, public_url=settings.public_url,
                              exposed=settings.webchat_exposed),
                          extra_routes=[webhook_route(self.connector, self.connector_jobs)]
                          if self.connector is not None and self.connector_jobs is not None
                          else None,
                          health=health_of(context.engine))
        self.server = _Server(
            uvicorn.Config(self.web.app, host=settings.http_host, port=settings.http_port,
                           log_level="warning", lifespan="off")
        )
        #: Set once every part has started.
        self.started = asyncio.Event()
        self._stopping = asyncio.Event()
        #: Several workers may share a PostgreSQL database; only one of them polls Telegram
        #: (two would take each other's updates away: Telegram answers 409).
        self._shares_polling = (
            self.telegram is not None and settings.telegram_mode == "polling"
            and context.engine.dialect.name == "postgresql"
        )
        self._leader: Connection | None = None
        #: Whether this worker polls Telegram (it holds the polling lock).
        self.polling = False

    async def _lead_polling(self) -> None:
        """Poll Telegram once this worker holds the polling lock; until then, only send.

        The lock is held by a connection of its own: when the polling worker stops or
        dies, its connection closes, and another worker takes over within seconds.
        """
        assert self.telegram is not None
        while not self._stopping.is_set():
            try:
                if await asyncio.to_thread(self._try_lead):
                    await self.telegram.start_polling()
                    self.polling = True
                    return
            except Exception:
                log.exception("telegram: could not ask for the polling lock; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), LEADER_RETRY_SECONDS)

    def _try_lead(self) -> bool:
        if self._leader is None:
            self._leader = self.context.engine.connect()
        taken = try_session_lock(self._leader, POLLING_LOCK)
        self._leader.commit()  # the lock outlives the transaction; no idle transaction
        if not taken:
            self._leader.close()
            self._leader = None
        return taken

    def stop(self) -> None:
        """Ask a running `run` to finish (as Ctrl-C does)."""
        self.server.should_exit = True

    async def run(self) -> None:
        """Run until `stop` or a signal; then stop every part and close the database."""
        settings = self.context.settings
        # Before anything is written: a second `run` on a busy port changes nothing.
        if problem := port_problem(settings.http_host, settings.http_port):
            raise StartupError(problem)
        self._start_demo()
        self._warn_at_start()
        if released := self.dispatcher.recover():
            log.info("released %s messages this worker claimed before a crash", released)
        if self.sms is not None:
            await self.sms.start()  # before the web server: a webhook's answers use it
        dispatch_task: asyncio.Task[None] | None = None
        leading: asyncio.Task[None] | None = None
        serve_task = asyncio.create_task(self.server.serve())
        try:
            # Listen first: in webhook mode Telegram may post as soon as the hook is set.
            # uvicorn offers only a flag for "started", not an event to wait on.
            while not self.server.started and not serve_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if not serve_task.done():
                if self.telegram is not None:
                    await self.telegram.start(poll=not self._shares_polling)
                    if self._shares_polling:
                        leading = asyncio.create_task(self._lead_polling())
                # Only once every channel can send.
                dispatch_task = asyncio.create_task(self.dispatcher.run_forever())
                self.scheduler.start()
                log.info("Närvaro running on http://%s:%s/ (channels: %s)", settings.http_host,
                         settings.http_port, ", ".join(sorted(self.channels)))
                self.started.set()
                # Everything loaded so far lives as long as the runtime: the collector
                # need not walk it again on each full collection (CPU per update).
                gc.collect()
                gc.freeze()
            await serve_task
        finally:
            gc.unfreeze()
            await self._shut_down(serve_task, leading, dispatch_task)

    def _start_demo(self) -> None:
        """In demo mode, an empty database gets the demo school and the clock a school
        morning (unless a school system fills the database instead)."""
        context, settings = self.context, self.context.settings
        if not settings.demo or self.connector is not None:
            return
        with session_scope(context.engine) as session:
            if load_demo_if_empty(
                session, policy=context.policy, timezone=settings.timezone,
                now=context.clock.now(),
            ):
                log.info("database was empty: loaded the demo school")
        if settings.clock_start is None:
            with session_scope(context.engine) as session:
                demo_now = start_demo_clock(session, context.clock)
            if demo_now is not None:
                log.info("demo clock: %s (NARVARO_CLOCK_START sets another; loading a "
                         "school's own roster ends the demo)",
                         demo_now.astimezone(settings.zone).strftime("%a %Y-%m-%d %H:%M"))

    def _warn_at_start(self) -> None:
        """Warn about what the operator may not have meant: schools without terms, an
        overview switched off, staff pages on a reachable host."""
        context, settings = self.context, self.context.settings
        with session_scope(context.engine) as session:
            for unreadable in unreadable_policies(session):
                log.error("%s: skipped by the sweeps until it can", unreadable)
            for school in without_terms(session):
                log.warning("school %s has no terms imported: its counts use the default %s "
                            "school year until `narvaro calendar import` gives its own",
                            school.id, school.country)
        if settings.overview and not settings.overview_served:
            log.warning("the overview is off: NARVARO_HTTP_HOST is reachable and "
                        "NARVARO_WEBCHAT_EXPOSED is not set")
        if (settings.webchat or settings.overview_served) and not is_loopback(
                settings.http_host):
            log.warning("the web chat or overview is exposed on a reachable host: staff sign "
                        "in with one-time links (NARVARO_WEBCHAT_EXPOSED)")

    async def _shut_down(self, serve_task: asyncio.Task[None],
                         leading: asyncio.Task[None] | None,
                         dispatch_task: asyncio.Task[None] | None) -> None:
        """Stop every part, in the order that loses nothing, and close the database."""
        if not serve_task.done():  # a part failed to start: stop the web server too
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await serve_task
        await stop_scheduler(self.scheduler)
        if self.connector_jobs is not None:
            await self.connector_jobs.finish()
        self._stopping.set()
        if leading is not None:
            await leading
        if self.telegram is not None:
            with contextlib.suppress(Exception):
                await self.telegram.stop_receiving()  # finishes updates in hand
        if self.sms is not None:
            await self.sms.finish_sending()
        await self.dispatcher.close()
        if dispatch_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await dispatch_task
        if self.telegram is not None:
            with contextlib.suppress(Exception):
                await self.telegram.close()
        if self.sms is not None:
            with contextlib.suppress(Exception):
                await self.sms.close()
        if self._leader is not None:
            with contextlib.suppress(Exception):
                self._leader.close()  # lets another worker take over polling
        self.context.engine.dispose()
        log.info("Närvaro stopped")


async def serve(context: Context) -> None:
    """Run everything in one process until interrupted (Ctrl-C / SIGTERM)."""
    await Runtime(context).run()
