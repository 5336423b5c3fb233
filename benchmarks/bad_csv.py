"""Import files full of bad rows: how long `narvaro` takes to refuse them, its peak memory
and how much it prints.

Run: python benchmarks/bad_csv.py [--rows 2000000] [--kind attendance|roster|calendar|all]
Each import runs as `narvaro … import` in a child process on a fresh SQLite database (with
a small roster, so that roll call has students to name); the figures are the child's wall
time, its peak RSS, its exit code and the lines it wrote to stderr. Every row is wrong
(an unknown student, a phone number that is not one, a kind that is neither term nor
break), so nothing is imported and every row is a problem.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from policy.roster import STUDENT_COLUMNS

ROSTER = ("school,class,student_id,student_name,guardian_name,guardian_phone\n"
          "Bench skola,7A,S1,Elev Ett,Vh Ett,070-1234501\n")


def write_bad(kind: str, rows: int, path: Path) -> None:
    """A file of `kind` whose every data row is wrong."""
    with path.open("w", encoding="utf-8") as out:
        if kind == "attendance":
            out.write("date,student_id,status,lesson_start,lesson_end,minutes_late\n")
            for n in range(rows):
                out.write(f"2026-11-23,X{n:07d},absent,,,\n")
        elif kind == "roster":
            out.write(",".join(STUDENT_COLUMNS) + "\n")
            for n in range(rows):
                out.write(f"Bench skola,7A,S{n:07d},Elev {n},sv,,no,Vh {n},inte-ett-nummer,sv,\n")
        else:
            out.write("school,kind,name,start,end\n")
            for n in range(rows):
                out.write(f"Bench skola,holiday,Lov {n},2026-10-26,2026-10-30\n")


def run(args: list[str], env: dict[str, str], folder: Path) -> tuple[float, int, int, int]:
    """(seconds, exit code, stderr lines, peak RSS in MiB) of `narvaro ARGS` in a child."""
    errors = folder / "stderr.txt"
    with errors.open("wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env,
                                 stdout=subprocess.DEVNULL, stderr=sink)
        _pid, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    with errors.open("rb") as written:
        lines = sum(1 for _ in written)
    return elapsed, child.returncode, lines, usage.ru_maxrss // 1024


def main() -> None:
    """Write the bad files, import each, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--kind", choices=("attendance", "roster", "calendar", "all"),
                        default="all")
    args = parser.parse_args()
    kinds = ("attendance", "roster", "calendar") if args.kind == "all" else (args.kind,)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("NARVARO_")},
               "NARVARO_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "NARVARO_DEMO": "0",
               "NARVARO_CLOCK_START": "2026-11-23T12:00:00+01:00"}
        (folder / "students.csv").write_text(ROSTER, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bot.cli", "roster", "import", "--students",
                        str(folder / "students.csv")], env=env, check=True, capture_output=True)
        for kind in kinds:
            path = folder / f"bad-{kind}.csv"
            write_bad(kind, args.rows, path)
            size = path.stat().st_size / 2**20
            command = {"attendance": ["attendance", "import", str(path)],
                       "roster": ["roster", "import", "--students", str(path)],
                       "calendar": ["calendar", "import", str(path)]}[kind]
            seconds, code, lines, peak = run(command, env, folder)
            sys.stdout.write(
                f"{kind}: {args.rows} bad rows ({size:.0f} MiB): {seconds:.1f} s, "
                f"peak RSS {peak} MiB, exit {code}, {lines} lines on stderr\n")
            path.unlink()


if __name__ == "__main__":
    main()
