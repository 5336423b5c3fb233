"""Where a transaction the event loop asks for runs: on the loop itself when the database
is SQLite and free at once, else in a worker thread (see ARCHITECTURE.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from storage.db import Busy, can_run_at_once

T = TypeVar("T")


async def run_transaction(engine: Engine, work: Callable[..., T], /, *args: Any) -> T:
    """`work(*args, wait=False)` on the loop when `engine` allows it and nothing else is
    writing (it raises `Busy` otherwise, having done nothing); else `work(*args)` in a
    worker thread, which waits for the database as usual. `work` opens its session with
    `session_scope(engine, wait=wait)`."""
    if can_run_at_once(engine):
        with contextlib.suppress(Busy):
            return work(*args, wait=False)
    return await asyncio.to_thread(work, *args)
