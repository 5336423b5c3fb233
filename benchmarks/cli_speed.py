"""How long each `narvaro` command takes to answer, against the demo school.

Run: python benchmarks/cli_speed.py [--runs 5] [--database-url URL]

Without --database-url it makes a demo database in a temporary folder (the demo
school, a week of roll call with absences, and a `tick` that sends the notices and
opens the tasks), as `make run` and a morning would leave it. Each command then runs
`--runs` times as its own process, as an operator runs it; printed per command: the
best wall time, and the best CPU time (user + system) of the process. The goal is well
under a second for every read command (0.5 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NARVARO = [sys.executable, "-m", "bot.cli"]
COMMANDS = (
    "--help",
    "absences list",
    "absences list --json",
    "tasks list",
    "outbox list",
    "audit list",
    "plan list",
    "report absences --school Demoskolan --from {week} --to {today}",
)


def make_demo(folder: Path) -> str:
    """A demo database with a week of absences, notices sent and tasks opened; its URL."""
    from bot.context import build_context
    from bot.demo import load_demo_if_empty, start_demo_clock
    from bot.settings import load_settings
    from storage.db import session_scope

    url = f"sqlite:///{folder / 'demo.db'}"
    os.environ["NARVARO_DATABASE_URL"] = url
    context = build_context(load_settings())
    with session_scope(context.engine) as session:
        load_demo_if_empty(session, policy=context.policy, timezone=context.settings.timezone,
                           now=context.clock.now())
    with session_scope(context.engine) as session:
        start_demo_clock(session, context.clock)
    today = context.clock.now().astimezone(context.settings.zone).date()
    days = [today - timedelta(days=n) for n in range(10) if (today - timedelta(days=n))
            .weekday() < 5][:5]
    rows = "".join(f"{day},D{n:03d},absent,08:00,09:00,,Demoskolan\n"
                   for day in days for n in range(1, 9))
    (folder / "roll.csv").write_text(
        "date,student_id,status,lesson_start,lesson_end,minutes_late,school\n" + rows,
        encoding="utf-8")
    context.engine.dispose()
    for command in (["attendance", "import", str(folder / "roll.csv")], ["tick"]):
        subprocess.run([*NARVARO, *command], cwd=ROOT, check=True, capture_output=True)
    return url


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """The best wall time and the best CPU time of `runs` runs of `command`."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main(arguments: argparse.Namespace) -> None:
    """Make (or use) the database and time each command."""
    with tempfile.TemporaryDirectory() as folder:
        if arguments.database_url:
            os.environ["NARVARO_DATABASE_URL"] = arguments.database_url
        else:
            make_demo(Path(folder))
        os.environ.setdefault("NARVARO_LOG_LEVEL", "WARNING")
        today = datetime.now(UTC).date()
        print(f"best of {arguments.runs} runs      wall     CPU")
        for command in COMMANDS:
            text = command.format(today=today, week=today - timedelta(days=7))
            wall, cpu = measure([*NARVARO, *text.split()], arguments.runs)
            print(f"narvaro {text[:40]:<40} {wall:6.3f} s {cpu:6.3f} s")
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores (wall time grows with it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="an existing database (default: a demo one)")
    main(parser.parse_args())
