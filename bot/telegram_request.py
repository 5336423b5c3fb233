"""Whether a request to the Bot API was written out in full before it failed.

python-telegram-bot wraps every httpx error in `NetworkError` or `TimedOut`, and httpcore
itself hides a write that broke: a reset while the request is being written is swallowed
(the server may still answer) and surfaces as a failed read, exactly like a reset after the
whole request went out. Only the second may have reached Telegram. httpcore's `trace`
extension tells them apart: it reports `send_request_body.complete` once the last byte of
the request was handed to the socket. The request's event hook attaches a recorder of those
events to every request sent while `tracking()` is active (a context variable: each send has
its own), so the Telegram channel can say "not sent, retry" or "maybe sent" soundly.

It errs only on the safe side: a last write that the kernel refuses at once (the reset was
already in) is reported by anyio as done, so that request counts as written: `maybe_sent`,
never a second message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from telegram.request import HTTPXRequest

from bot.settings import Settings

#: A socket option as PTB passes it to httpcore: (level, option, value).
SocketOption = tuple[int, int, int]


@dataclass
class WriteProgress:
    """What httpcore reported of one send: whether it traced it at all, and whether the
    whole request (headers and body) was handed to the socket."""

    traced: bool = False
    written: bool = False

    async def trace(self, event: str, _info: dict[str, Any]) -> None:
        """httpcore's trace callback ("http11.send_request_body.complete", …)."""
        if event.endswith(".send_request_body.complete"):
            self.written = True


_PROGRESS: ContextVar[WriteProgress | None] = ContextVar("telegram_write_progress",
                                                         default=None)


@contextmanager
def tracking(progress: WriteProgress) -> Iterator[WriteProgress]:
    """Record in `progress` what httpcore reports of the requests sent inside the block."""
    token = _PROGRESS.set(progress)
    try:
        yield progress
    finally:
        _PROGRESS.reset(token)


async def _attach_trace(request: httpx.Request) -> None:
    """httpx's request hook: trace this request when a send is being tracked."""
    progress = _PROGRESS.get()
    if progress is not None:
        progress.traced = True
        request.extensions = {**request.extensions, "trace": progress.trace}


def telegram_request(settings: Settings, *,
                     socket_options: Collection[SocketOption] | None = None) -> HTTPXRequest:
    """PTB's own HTTPX request (its defaults: a pool of 256, HTTP/1.1) with our timeouts and
    the trace hook. `socket_options` as PTB takes them (tests shrink the send buffer to
    stand for a slow link, where a request is still being written when the line breaks)."""
    return HTTPXRequest(
        connection_pool_size=256, read_timeout=settings.telegram_timeout_seconds,
        write_timeout=settings.telegram_timeout_seconds, socket_options=socket_options,
        httpx_kwargs={"event_hooks": {"request": [_attach_trace]}},
    )


def not_sent(cause: BaseException | None, progress: WriteProgress) -> bool | None:
    """Whether an httpx failure (`cause`) certainly came before Telegram could have the
    request: True when it was never written in full (no connection, none free in the pool,
    or broken while writing), False when it was written (a reset or a timeout after that:
    it may have been sent). None when the send was not traced or the failure is not httpx's
    (the caller falls back on the exception's kind)."""
    if not progress.traced or not isinstance(cause, httpx.TransportError):
        return None
    return not progress.written
