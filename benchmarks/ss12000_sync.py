"""SS 12000 sync: a first sync of a large municipality, then an incremental sync of one
day's roll call; time and peak memory of each.

The fake SS 12000 server (tests/fakes) runs in a process of its own with a generated
data set (by default 20,000 students with two guardians each: 40,000 guardians), pages of
1,000 and lookups of at most 500. Each sync runs in a fresh process of its own, so its
peak resident memory (ru_maxrss) is its own, through the real HTTP client into a SQLite
file (or --database postgresql://…).

    .venv/bin/python benchmarks/ss12000_sync.py [--students 20000] [--schools 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = "2026-11-23"


def serve(pipe: Connection, students: int, schools: int) -> None:
    """The fake server with the data set; answers "roll" (a day's roll call) and "stop"."""
    from tests.fakes.ss12000_api import FakeSS12000
    from tests.fakes.ss12000_data import generate, one_day_of_roll_call

    data = generate(students=students, schools=schools, sibling_share=0.0, single_share=0.0)
    guardians = len({r["person"]["id"] for s in data.students
                     for r in data.persons[s]["responsibles"]})
    with FakeSS12000(max_page=1000, max_lookup=500) as fake:
        data.load_into(fake, at=datetime.now(UTC) - timedelta(days=1))  # there before us
        units = [u["schoolUnitCode"] for u in data.units if u["organisationType"] == "Skolenhet"]
        pipe.send((fake.env(*units), len(data.students), guardians))
        while (command := pipe.recv()) != "stop":
            if command == "cpu":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                pipe.send(usage.ru_utime + usage.ru_stime)
                continue
            assert command == "roll"
            started = time.perf_counter()
            count = one_day_of_roll_call(data, fake)
            pipe.send((count, time.perf_counter() - started))


def sync(pipe: Connection, env: dict[str, str], full: bool) -> None:
    """One sync in this (fresh) process: its changes, seconds and peak memory."""
    os.environ.update(env)
    from bot.context import build_context
    from bot.school_system import build_connector
    from bot.settings import load_settings

    context = build_context(load_settings())
    connector = build_connector(context.settings, context.engine, context.clock,
                                context.policy)
    assert connector is not None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    result = connector.sync(full=full)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu
    context.engine.dispose()
    pipe.send((result.counts, len(result.problems), seconds, cpu, before, usage.ru_maxrss))


def run_sync(env: dict[str, str], *, full: bool) -> tuple[Any, ...]:
    """`sync` in a fresh process."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=sync, args=(theirs, env, full))
    process.start()
    answer: tuple[Any, ...] = mine.recv()
    process.join()
    return answer


def measured(server: Connection, env: dict[str, str], *, full: bool) -> tuple[Any, ...]:
    """A sync, and the CPU seconds the server spent answering it."""
    server.send("cpu")
    before = server.recv()
    answer = run_sync(env, full=full)
    server.send("cpu")
    return (*answer, server.recv() - before)


def report(name: str, answer: tuple[Any, ...]) -> None:
    """Print one sync's figures."""
    counts, left_out, seconds, cpu, before, peak, server_cpu = answer
    print(f"{name}: {seconds:.1f} s wall clock; CPU: the sync {cpu:.1f} s, the fake server "
          f"{server_cpu:.1f} s; peak memory of the sync {peak / 1024:.0f} MB (its process "
          f"at start {before / 1024:.0f} MB); {left_out} left out")
    print("  " + ", ".join(f"{key} {value}" for key, value in counts.items()))


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=20000)
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    server = context.Process(target=serve, args=(theirs, args.students, args.schools))
    server.start()
    env, students, guardians = mine.recv()
    with tempfile.TemporaryDirectory() as folder:
        env |= {"NARVARO_DATABASE_URL": args.database or f"sqlite:///{folder}/narvaro.db",
                "NARVARO_CLOCK_START": f"{DAY}T11:30:00+01:00", "NARVARO_LOG_LEVEL": "WARNING"}
        print(f"SS 12000 sync: {students} students, {guardians} guardians, "
              f"{args.schools} school units")
        report("first sync", measured(mine, env, full=True))
        mine.send("roll")
        count, seconds = mine.recv()
        print(f"(the fake server took {seconds:.0f} s to record {count} lesson attendances)")
        report("incremental sync of the day's roll call", measured(mine, env, full=False))
        report("incremental sync, nothing changed", measured(mine, env, full=False))
    mine.send("stop")
    server.join()


if __name__ == "__main__":
    main()
