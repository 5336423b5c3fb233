"""A municipality's school through a whole school year with one preset: the ladder sweep's
time per simulated school day, peak memory, and step entries and letters per month.

Run: python benchmarks/year.py [--students 20000] [--preset ljusnarsberg] [--database-url URL]
The school, its absence and the clock are those of benchmarks/school_year.py (the same
generator the year simulation test uses): roll call written each school day at 08:30, the
sweep at 09:00 (and at 00:30 on Mondays). Prints the median and worst time of a school
day's sweeps, the peak memory (RSS high-water mark) and a table per month.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.school_year import run
from storage.db import make_engine, upgrade


def main() -> None:
    """Run the year and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=20000)
    parser.add_argument("--preset", default="ljusnarsberg")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/year.db"
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    year = run(engine, args.preset, args.students)
    total = time.perf_counter() - started
    sweeps = sorted(year.sweep_seconds)
    print(f"{args.students} students, preset {args.preset}, {year.school_days} school days, "
          f"{total:.0f} s in all")
    print(f"sweep per school day: median {statistics.median(sweeps) * 1000:.0f} ms, "
          f"95th percentile {sweeps[int(len(sweeps) * 0.95)] * 1000:.0f} ms, "
          f"worst {sweeps[-1] * 1000:.0f} ms")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("month    on a step                                   step entries  letters")
    for month in sorted(year.on_step):
        steps = ", ".join(f"{step} {n}" for step, n in sorted(year.on_step[month].items()))
        print(f"{month}  {steps:<44}{year.entries.get(month, 0):>12}"
              f"{year.letters.get(month, 0):>9}")


if __name__ == "__main__":
    main()
