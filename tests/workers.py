"""Real `narvaro run` processes against the fake servers: started, killed -9, restarted.

For the crash and scale-out tests, and for benchmarks/dispatch.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from tests.bursts import received
from tests.fakes.telegram_api import FakeTelegram
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent



def telegram_env(database_url: str, fake: FakeTelegram, **extra: str) -> dict[str, str]:
    """The environment of a worker sending on Telegram (through `fake`) only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NARVARO_")}
    env.update(
        NARVARO_DATABASE_URL=database_url, NARVARO_DEMO="0", NARVARO_WEBCHAT="0",
        NARVARO_TELEGRAM_TOKEN=fake.token, NARVARO_TELEGRAM_API_URL=fake.base_url,
        NARVARO_DISPATCH_INTERVAL_SECONDS="0.1", NARVARO_LOG_LEVEL="WARNING", **extra,
    )
    env["PYTHONPATH"] = str(ROOT)
    return env


@dataclass
class Worker:
    """One `narvaro run` process (named by NARVARO_WORKER_ID in `env`)."""

    env: dict[str, str]
    cwd: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    starts: int = field(default=0)

    def start(self, timeout: float = 90.0) -> None:
        """Start it and wait until its web server answers /healthz."""
        self.port = free_port()
        env = {**self.env, "NARVARO_HTTP_PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], cwd=self.cwd, env=env,
                stdout=out, stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:  # a process coming up has no event to wait on but its port
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz",
                             timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"narvaro run did not come up:\n{self.log.read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=30)


@dataclass
class CrashReport:
    """What the fake Bot API received from a burst sent through repeated kill -9."""

    burst: int
    kills: int
    counts: list[int]
    seconds: float

    @property
    def missing(self) -> int:
        """Chats that never got their message."""
        return sum(1 for count in self.counts if count == 0)

    @property
    def duplicates(self) -> int:
        """Messages received more than once (extra copies)."""
        return sum(max(0, count - 1) for count in self.counts)


def _reached(fake: FakeTelegram, burst: int, target: int) -> bool:
    return sum(received(fake, burst)) >= target


def kill_during_burst(worker: Worker, fake: FakeTelegram, burst: int, *, kills: int,
                      seed: int = 8, timeout: float = 120.0) -> CrashReport:
    """Start `worker`, kill -9 it `kills` times while it sends the `burst` (each time after
    a random 20-80 more messages arrived), then let a last start finish it."""
    chooser = random.Random(seed)
    started = time.monotonic()
    done = 0
    for _ in range(kills):
        worker.start()
        target = min(burst - 1, sum(received(fake, burst)) + chooser.randint(20, 80))
        fake.wait_for(partial(_reached, fake, burst, target), timeout)
        worker.kill()
        done += 1
    worker.start()
    fake.wait_for(lambda: all(received(fake, burst)), timeout)
    assert worker.stop() == 0
    return CrashReport(burst, done, received(fake, burst), time.monotonic() - started)
