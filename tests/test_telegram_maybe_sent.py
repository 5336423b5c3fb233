"""Telegram: `maybe_sent` only when the request may have reached the Bot API.

The dispatcher sends through the real python-telegram-bot stack (HTTPXRequest, httpx,
httpcore, a real socket) to a server that breaks the request at each stage
(`tests/fakes/breaking_server.py`). What decides is whether the whole request was handed to
the socket (httpcore's trace, `bot/telegram_request.py`): before that, Telegram cannot have
the message and a retry with backoff is safe; after it, sending again could double it.

A long message (4,000 emoji, about 48 kB on the wire) goes where the client is to be caught
writing: the server's receive buffer is a few kilobytes and the client's send buffer is set
small (PTB's `socket_options`), as on a slow line, so the client is still writing when the
reset comes. Nothing is mocked: the exceptions are the ones the stack raises.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.telegram import TelegramBot
from bot.telegram_request import telegram_request
from policy.clock import Clock
from storage.db import session_scope
from storage.outbox import MessageKind, about, enqueue_many
from tests.bursts import FIRST_CHAT, add_people, rows
from tests.fakes.breaking_server import BreakingServer

TOKEN = "123456:TEST-breaking-line"
#: The client's send buffer, asked for (the kernel doubles it): a slow line's few kilobytes.
SMALL_SEND_BUFFER = [(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)]
LONG = "😀" * 4000


@asynccontextmanager
async def dispatcher_to(engine: Engine, base_url: str) -> AsyncIterator[Dispatcher]:
    """A dispatcher whose Telegram channel sends to `base_url` (no getMe: sending needs
    none), with a small send buffer."""
    settings = load_settings(telegram_token=TOKEN, telegram_api_url=base_url,
                             database_url=str(engine.url), telegram_timeout_seconds=5.0,
                             telegram_rate_limit=0, telegram_chat_rate=0)
    bot = TelegramBot(settings, engine, Clock(),
                      request=telegram_request(settings, socket_options=SMALL_SEND_BUFFER))
    await bot.app.bot.request.initialize()
    try:
        yield Dispatcher(engine, Clock(), {"telegram": bot}, interval=0.05)
    finally:
        await bot.app.bot.request.shutdown()


def one_message(engine: Engine, text: str) -> None:
    """One Telegram message to a person with a linked chat."""
    [person] = add_people(engine, 1)
    with session_scope(engine) as session:
        enqueue_many(session, [{"dedupe_key": "line:1", "recipient_id": person,
                                "channel": "telegram", "language": "sv", "text": text,
                                **about(MessageKind.REPLY)}],
                     now=Clock().now())


def assert_retry_later(engine: Engine, before: object) -> None:
    """Pending again, one attempt spent, due after a backoff (15-30 s), said why."""
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1), row.last_error
    assert "before sending" in (row.last_error or "")
    assert isinstance(before, type(row.not_before))
    assert before + timedelta(seconds=15) <= row.not_before <= before + timedelta(seconds=31)


async def test_nobody_listening_is_a_retry(engine: Engine) -> None:
    """Connection refused: the request never left."""
    with socket.socket() as probe:  # a port bound but not listening: refused
        probe.bind(("127.0.0.1", 0))
        one_message(engine, "Hej")
        async with dispatcher_to(engine, f"http://127.0.0.1:{probe.getsockname()[1]}/bot") as d:
            before = d.clock.now()
            assert await d.dispatch_once() == 0
    assert_retry_later(engine, before)
    assert "ConnectError" in (rows(engine)[0].last_error or "")


@pytest.mark.parametrize("stage", ["reset_before_reading", "reset_mid_body"])
async def test_a_reset_while_the_request_is_still_being_written_is_a_retry(
    engine: Engine, stage: str
) -> None:
    """Reset as the request began to arrive, before the server read a byte of it, or after
    it read part of the body: the client had not written the whole request (httpcore
    swallows the write error and reports a failed read, as after a whole request); Telegram
    cannot have the message, so it goes again."""
    one_message(engine, LONG)
    with BreakingServer([stage]) as server:
        async with dispatcher_to(engine, server.base_url) as d:
            before = d.clock.now()
            assert await d.dispatch_once() == 0
        assert server.requests == [] and server.broken.is_set()
    assert_retry_later(engine, before)


@pytest.mark.parametrize("stage", ["reset_unread", "reset_after_body"])
async def test_a_reset_after_the_whole_request_was_written_is_maybe_sent(
    engine: Engine, stage: str
) -> None:
    """The whole request was in the server's socket (read or not) when the connection was
    reset: from the client nobody can tell whether Telegram took it, so it is `maybe_sent`
    and not sent again."""
    one_message(engine, "Ali är inte i skolan idag")
    with BreakingServer([stage, "answer"]) as server:
        async with dispatcher_to(engine, server.base_url) as d:
            assert await d.dispatch_once() == 0
            assert await d.dispatch_once() == 0
        assert server.connections == 1
        assert len(server.requests) == (1 if stage == "reset_after_body" else 0)
    [row] = rows(engine)
    assert row.status == "maybe_sent" and "after sending" in (row.last_error or "")


async def test_a_long_request_written_whole_then_reset_is_maybe_sent_too(engine: Engine) -> None:
    """The long message of the retry cases, read in full before the reset: maybe sent (the
    small buffers alone do not make a send look unsent)."""
    one_message(engine, LONG)
    with BreakingServer(["reset_after_body"]) as server:
        async with dispatcher_to(engine, server.base_url) as d:
            assert await d.dispatch_once() == 0
        [request] = server.requests
        assert request.line.startswith("POST /bot") and len(request.body) > 40_000
    assert rows(engine)[0].status == "maybe_sent"


async def test_an_idle_connection_reset_between_sends_costs_nothing(engine: Engine) -> None:
    """The connection kept from the last send was reset while idle (a proxy's timeout):
    the next send sees it before writing and takes a new connection; it is sent once."""
    [person] = add_people(engine, 1)
    with BreakingServer(["answer_then_reset", "answer"]) as server:
        async with dispatcher_to(engine, server.base_url) as d:
            for n in range(2):
                with session_scope(engine) as session:
                    enqueue_many(session, [{
                        "dedupe_key": f"idle:{n}", "recipient_id": person,
                        "channel": "telegram", "language": "sv", "text": f"Meddelande {n}",
                        **about(MessageKind.REPLY)}],
                        now=Clock().now())
                assert await d.dispatch_once() == 1
                assert server.broken.wait(timeout=10)
        assert server.connections == 2 and len(server.requests) == 2
    assert [(r.status, r.provider_ref) for r in rows(engine)] == [
        ("sent", f"{FIRST_CHAT}:1"), ("sent", f"{FIRST_CHAT}:2")]
