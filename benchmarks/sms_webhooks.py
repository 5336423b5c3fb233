"""Incoming SMS webhooks per second, with p50/p99 latency, on loopback and SQLite.

Run: python benchmarks/sms_webhooks.py [--guardians 20] [--messages 10]

The real `narvaro run` runs as its own process on a fresh SQLite file, with
Twilio pointed at the fake REST server (tests/fakes) in this process. Each
guardian texts alternately "sjuk <date>" (a report summary is queued) and "1"
(the report is stored, the receipt queued): first all at once, each waiting
for the answer to a webhook before the next (the most the bot takes), then
paced at --rate arrivals a second (latency under a steady load). A webhook's
latency is Twilio's wait: signature check, parse, store, answer queued (the
answer is sent to Twilio's REST API right after). Printed: webhooks per
second, p50 and p99 latency, and that every answer reached the fake.
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
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.telegram_dialogs import start, stop, write_roster  # noqa: E402
from policy.calendar import SchoolCalendar  # noqa: E402
from tests.fakes.twilio_api import FakeTwilio  # noqa: E402
from tests.telegram_harness import free_port  # noqa: E402

SCHOOL_NUMBER = "+46701740000"


async def guardian(
    twilio: FakeTwilio, http: httpx.AsyncClient, public: str, phone: str, days: list[date],
    latencies: list[float],
) -> None:
    """Report each day: text "sjuk D/M", then "1" to send it; time each webhook.

    Each text is posted as Twilio posts it (form and signature from the fake), over
    one kept-alive connection per guardian as Twilio's own senders keep theirs.
    """
    url = f"{public}/twilio/sms"
    validator = RequestValidator(twilio.auth_token)
    for day in days:
        for body in (f"sjuk {day.day}/{day.month}", "1"):
            form = twilio.inbound_form(from_=phone, to=SCHOOL_NUMBER, body=body)
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
            began = time.perf_counter()
            response = await http.post(url, data=form, headers=headers)
            latencies.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text


async def at_rate(
    twilio: FakeTwilio, http: httpx.AsyncClient, public: str, phones: list[str],
    days: list[date], rate: float, latencies: list[float],
) -> None:
    """Open loop: one webhook every 1/rate seconds, round-robin over the guardians, whatever
    the bot's pace (as texts arrive in real life); each guardian still texts in order."""
    url = f"{public}/twilio/sms"
    validator = RequestValidator(twilio.auth_token)
    plan = [(phone, body) for day in days
            for body in (f"sjuk {day.day}/{day.month}", "1") for phone in phones]
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def post(n: int, phone: str, body: str) -> None:
        await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
        form = twilio.inbound_form(from_=phone, to=SCHOOL_NUMBER, body=body)
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
        sent = time.perf_counter()
        response = await http.post(url, data=form, headers=headers)
        latencies.append(time.perf_counter() - sent)
        assert response.status_code == 200, response.text

    await asyncio.gather(*(post(n, phone, body) for n, (phone, body) in enumerate(plan)))


def percentiles(latencies: list[float]) -> str:
    """p50, p99 and max in milliseconds."""
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (f"p50 {1000 * statistics.median(ordered):.1f} ms, p99 {1000 * p99:.1f} ms, "
            f"max {1000 * ordered[-1]:.1f} ms")


async def main(arguments: argparse.Namespace) -> None:
    """Start the bot, send the texts, print the figures."""
    with tempfile.TemporaryDirectory() as folder, FakeTwilio() as twilio:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        env = {
            "NARVARO_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
            "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "NARVARO_TWILIO_FROM": SCHOOL_NUMBER, "NARVARO_TWILIO_API_URL": twilio.base_url,
            "NARVARO_PUBLIC_URL": public, "NARVARO_HTTP_PORT": str(port),
            "NARVARO_DEMO": "0", "NARVARO_WEBCHAT": "0", "NARVARO_LOG_LEVEL": "WARNING",
            "NARVARO_CLOCK_START": "2026-11-23T08:00:00+01:00",
        }
        twilio.callbacks_enabled = False  # measure the incoming path alone
        phones = write_roster(Path(folder), arguments.guardians)
        subprocess.run(  # noqa: ASYNC221 (set-up, before anything is timed)
            [sys.executable, "-m", "bot.cli", "roster", "import", "--students",
             str(Path(folder) / "students.csv"), "--staff", str(Path(folder) / "staff.csv")],
            env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True,
        )
        process = start([sys.executable, "-m", "bot.cli", "run"], env,
                        Path(folder) / "narvaro.log")
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(300):
                    try:
                        if (await http.get(f"{public}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            days = SchoolCalendar("SE").school_days(date(2026, 11, 24),
                                                    date(2026, 11, 23) + timedelta(days=29))
            warm_up, *timed_days = days[:arguments.messages // 2 + 1]
            paced_days = days[len(timed_days) + 1:len(timed_days) + 1 + arguments.messages // 2]
            paced: list[float] = []
            latencies: list[float] = []
            async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
                await asyncio.gather(*(guardian(twilio, http, public, phone, [warm_up], [])
                                       for phone in phones))
                began = time.perf_counter()
                await asyncio.gather(*(
                    guardian(twilio, http, public, phone, timed_days, latencies)
                    for phone in phones
                ))
                elapsed = time.perf_counter() - began
                await at_rate(twilio, http, public, phones, paced_days, arguments.rate, paced)
            expected = 2 * len(phones) * (len(timed_days) + len(paced_days) + 1)
            await twilio.wait_until(lambda: len(twilio.messages()) >= expected or None,
                                    timeout=60)
        finally:
            stop(process)
    print(f"as fast as it goes: {len(latencies)} webhooks from {len(phones)} guardians at "
          f"once in {elapsed:.2f} s = {len(latencies) / elapsed:.0f} webhooks/s; "
          f"latency {percentiles(latencies)}")
    print(f"at {arguments.rate:g} webhooks/s arriving: {len(paced)} webhooks; "
          f"latency {percentiles(paced)}")
    print(f"answers that reached the fake Twilio: {len(twilio.messages())} of {expected}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="texts per guardian and run")
    parser.add_argument("--rate", type=float, default=25, help="arrivals per second, paced run")
    asyncio.run(main(parser.parse_args()))
