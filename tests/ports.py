"""Free TCP ports for the bots the tests start, one range per pytest-xdist worker.

A port found free by binding port 0 is free only until someone else binds it, and in the
gap between finding it and the bot listening on it another worker (or another process's
outbound connection, which takes its port from the same ephemeral range) could take it.
So each worker hands out ports from a range of its own below the ephemeral range, in
turn, skipping any that is taken; the fakes themselves bind port 0 and keep it.

Two test runs on one machine (CI and a developer, say) would otherwise both give their
first worker the first range and walk it from its first port in step: which range a
worker takes, and where in it it begins, also depend on the run.
"""

from __future__ import annotations

import itertools
import os
import socket
from functools import cache

#: Below Linux's ephemeral range (32768-60999), where outbound connections take theirs.
FIRST_PORT = 20_000
SPAN = 1_000
RANGES = 12
_next = itertools.count()


def worker_index() -> int:
    """This process's pytest-xdist worker number (gw3 → 3), 0 without xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def run_number() -> int:
    """A number for this test run, the same in each of its workers: pytest-xdist's id of
    the run (one per run, shared by its workers), or this process's id without xdist."""
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    try:
        return int(uid, 16)
    except ValueError:
        return os.getpid()


@cache
def port_order(worker: int, run: int) -> tuple[int, ...]:
    """The ports worker `worker` of run `run` hands out, in turn: a thousand of its own (the
    run's workers take consecutive thousands, from the one the run picks), beginning at the
    place in them the run picks."""
    start = FIRST_PORT + (run + worker) % RANGES * SPAN
    first = run // RANGES % SPAN
    return tuple(start + (first + step) % SPAN for step in range(SPAN))


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now, from this worker's range."""
    order = port_order(worker_index(), run_number())
    for _ in range(SPAN):
        port = order[next(_next) % SPAN]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {min(order)}-{max(order)}")
