"""Wiring: settings → engine, clock, channels, dispatcher, scheduler and web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from ipaddress import ip_address

import uvicorn
from sqlalchemy import Engine

from bot.channels.base import Channel
from bot.channels.local import ConsoleChannel, WebChatChannel
from bot.demo import load_demo_if_empty
from bot.dispatcher import Dispatcher
from bot.settings import Settings
from bot.web import WebApp
from policy.clock import Clock
from policy.presets import PolicyPreset, load_policy
from scheduler.runner import build_scheduler
from storage.db import make_engine, session_scope, upgrade

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What every command needs: settings, the database, the clock and the policy."""

    settings: Settings
    engine: Engine
    clock: Clock
    policy: PolicyPreset


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
    """Open the database (upgrading its schema) and start the clock."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Context(settings, engine, Clock(settings.clock_start), load_policy(settings.policy))


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels this configuration can send on."""
    channels: dict[str, Channel] = {"console": ConsoleChannel()}
    if settings.webchat:
        channels["webchat"] = WebChatChannel()
    return channels


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def serve(context: Context) -> None:
    """Run everything in one process until interrupted (Ctrl-C / SIGTERM)."""
    settings = context.settings
    if settings.demo:
        with session_scope(context.engine) as session:
            if load_demo_if_empty(
                session, policy=context.policy, timezone=settings.timezone,
                now=context.clock.now(),
            ):
                log.info("database was empty: loaded the demo school")
    if settings.webchat and not _is_loopback(settings.http_host):
        log.warning("the web chat lets anyone act as anyone: keep it off (NARVARO_WEBCHAT=0) "
                    "on a reachable host")
    channels = build_channels(settings)
    dispatcher = Dispatcher(context.engine, context.clock, channels,
                            interval=settings.dispatch_interval_seconds)
    if released := dispatcher.recover():
        log.info("released %s messages claimed before a crash", released)
    web = WebApp(context.engine, context.clock, dispatcher, webchat=settings.webchat,
                 channels=sorted(channels))
    scheduler = build_scheduler(context.engine, context.clock, after_sweep=dispatcher.wake)
    server = uvicorn.Server(
        uvicorn.Config(web.app, host=settings.http_host, port=settings.http_port,
                       log_level="warning", lifespan="off")
    )
    dispatch_task = asyncio.create_task(dispatcher.run_forever())
    scheduler.start()
    log.info("Närvaro running on http://%s:%s/ (channels: %s)", settings.http_host,
             settings.http_port, ", ".join(sorted(channels)))
    try:
        await server.serve()
    finally:
        scheduler.shutdown(wait=False)
        dispatch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatch_task
        context.engine.dispose()
        log.info("Närvaro stopped")
