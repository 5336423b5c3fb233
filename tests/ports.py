"""Free TCP ports for the bots the tests start, one range per pytest-xdist worker.

A port found free by binding port 0 is free only until someone else binds it, and in the
gap between finding it and the bot listening on it another worker (or another process's
outbound connection, which takes its port from the same ephemeral range) could take it.
So each worker hands out ports from a range of its own below the ephemeral range, in
turn, skipping any that is taken; the fakes themselves bind port 0 and keep it.
"""

from __future__ import annotations

import itertools
import os
import socket

#: Below Linux's ephemeral range (32768-60999), where outbound connections take theirs.
FIRST_PORT = 20_000
SPAN = 1_000
RANGES = 12
_next = itertools.count()


def worker_index() -> int:
    """This process's pytest-xdist worker number (gw3 → 3), 0 without xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now, from this worker's range."""
    start = FIRST_PORT + (worker_index() % RANGES) * SPAN
    for _ in range(SPAN):
        port = start + next(_next) % SPAN
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {start}-{start + SPAN - 1}")
