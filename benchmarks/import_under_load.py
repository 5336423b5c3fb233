"""Incoming SMS while a large roster import runs: nothing lost, every text answered.

Run: python benchmarks/import_under_load.py [--rows 100000] [--database-url URL]

The real `narvaro run` runs as its own process (SQLite by default), with Twilio pointed at
the fake REST server (tests/fakes) in this process. A roster import of --rows student rows
(`narvaro roster import`, another process) starts; from a little before it until a little
after it ends, one signed SMS a second arrives from a guardian of another school ("sjuk
idag"; each guardian texts once). Printed: how long the import took; how many texts were
sent (and how many while the import ran), answered 200 by the webhook, stored, and
answered to the guardian (and how many answers were "not saved" apologies); the webhook's
latency (p50, p99, max) during the import and outside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import col  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.roster_import import generate  # noqa: E402
from benchmarks.telegram_dialogs import start, stop, write_roster  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import InboundSeen  # noqa: E402
from tests.fakes.twilio_api import FakeTwilio  # noqa: E402
from tests.telegram_harness import free_port  # noqa: E402

SCHOOL_NUMBER = "+46701740000"
#: The apology a text that could not be handled gets (Swedish: the guardians' language).
NOT_SAVED = "sparades inte"


def percentiles(latencies: list[float]) -> str:
    """p50, p99 and max in milliseconds."""
    if not latencies:
        return "none"
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (f"p50 {1000 * statistics.median(ordered):.0f} ms, p99 {1000 * p99:.0f} ms, "
            f"max {1000 * ordered[-1]:.0f} ms")


async def main(arguments: argparse.Namespace) -> None:
    """Start the bot, run the import while texts arrive, print the figures."""
    with tempfile.TemporaryDirectory() as tmp, FakeTwilio() as twilio:
        folder = Path(tmp)
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        url = arguments.database_url or f"sqlite:///{folder / 'bench.db'}"
        env = {
            "NARVARO_DATABASE_URL": url,
            "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "NARVARO_TWILIO_FROM": SCHOOL_NUMBER, "NARVARO_TWILIO_API_URL": twilio.base_url,
            "NARVARO_PUBLIC_URL": public, "NARVARO_HTTP_PORT": str(port),
            "NARVARO_DEMO": "0", "NARVARO_WEBCHAT": "0", "NARVARO_LOG_LEVEL": "WARNING",
            "NARVARO_CLOCK_START": "2026-11-23T08:00:00+01:00",
        }
        twilio.callbacks_enabled = False  # the incoming path alone
        phones = write_roster(folder, arguments.guardians)
        cli = [sys.executable, "-m", "bot.cli"]
        subprocess.run(  # noqa: ASYNC221 (set-up, before anything is timed)
            [*cli, "roster", "import", "--students", str(folder / "students.csv"),
             "--staff", str(folder / "staff.csv")],
            env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
        big = folder / "big"
        big.mkdir()
        big_students, big_staff = generate(arguments.rows // 2, big)  # two rows a student
        process = start([*cli, "run"], env, folder / "narvaro.log")
        sent: list[tuple[str, float, int, float]] = []  # phone, when, status, latency
        importing: list[float] = []
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(300):
                    try:
                        if (await http.get(f"{public}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            validator = RequestValidator(twilio.auth_token)
            webhook = f"{public}/twilio/sms"

            async def text(http: httpx.AsyncClient, phone: str) -> None:
                form = twilio.inbound_form(from_=phone, to=SCHOOL_NUMBER, body="sjuk idag")
                headers = {"X-Twilio-Signature": validator.compute_signature(webhook, form)}
                began = time.perf_counter()
                try:
                    status = (await http.post(webhook, data=form, headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0  # no answer within Twilio's 15 s: Twilio gives up
                sent.append((phone, began, status, time.perf_counter() - began))

            async def run_import() -> None:
                began = time.perf_counter()
                done = await asyncio.create_subprocess_exec(
                    *cli, "roster", "import", "--students", str(big_students),
                    "--staff", str(big_staff), env={**os.environ, **env}, cwd=ROOT,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                code = await done.wait()
                importing.extend([began, time.perf_counter()])
                assert code == 0, f"the import failed ({code})"

            async with httpx.AsyncClient(timeout=15, trust_env=False) as http:
                pending: set[asyncio.Task[None]] = set()
                load: asyncio.Task[None] | None = None
                for n, phone in enumerate(phones):  # one a second, each guardian once
                    if n == arguments.before:
                        load = asyncio.create_task(run_import())
                    pending.add(asyncio.create_task(text(http, phone)))
                    await asyncio.sleep(1.0)
                    if importing and sum(1 for s in sent if s[1] > importing[1]) >= \
                            arguments.after:
                        break
                assert load is not None, "more guardians than --before"
                await load
                await asyncio.gather(*pending)
            answered = await wait_for_answers(twilio, [phone for phone, *_ in sent])
        finally:
            stop(process)
        engine = make_engine(url)
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(InboundSeen).where(
                col(InboundSeen.channel) == "sms")).scalar()
        engine.dispose()
    began, ended = importing
    during = [s for s in sent if began <= s[1] <= ended]
    print(f"import of {arguments.rows} rows: {ended - began:.1f} s")
    print(f"texts sent: {len(sent)} (one a second; {len(during)} while the import ran)")
    print(f"webhook answered 200: {sum(1 for s in sent if s[2] == 200)}; other or none: "
          f"{sum(1 for s in sent if s[2] != 200)}")
    print(f"stored and handled: {stored}; answered to the guardian: {len(answered)} "
          f"({sum(1 for body in answered.values() if NOT_SAVED in body)} of them 'not saved')")
    print(f"webhook latency during the import: {percentiles([s[3] for s in during])}")
    print(f"webhook latency outside it: "
          f"{percentiles([s[3] for s in sent if not began <= s[1] <= ended])}")


async def wait_for_answers(twilio: FakeTwilio, phones: list[str],
                           seconds: float = 120) -> dict[str, str]:
    """The first answer each of `phones` got (waiting up to `seconds` for them all)."""
    answers: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(answers) < len(phones):
        for message in twilio.messages():
            if message.to in phones and message.to not in answers:
                answers[message.to] = message.body
        await asyncio.sleep(0.2)
    return answers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="roster rows to import")
    parser.add_argument("--guardians", type=int, default=600,
                        help="guardians who may text (one text each, at most)")
    parser.add_argument("--before", type=int, default=3, help="texts before the import")
    parser.add_argument("--after", type=int, default=3, help="texts after the import ended")
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
