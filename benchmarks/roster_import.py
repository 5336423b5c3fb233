"""Roster import at scale: generate N students with two guardians each, import, report.

Run: python benchmarks/roster_import.py [--students 20000] [--database-url URL]
Prints the time and peak memory (RSS high-water mark of this process) of the
import as `narvaro roster import` does it: parse and validate, then apply.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from policy.presets import PRESETS
from policy.roster import STUDENT_COLUMNS, parse_roster
from storage.db import make_engine, session_scope, upgrade
from storage.roster import apply_roster, staff_phones

LANGUAGES = ("sv", "en", "ar", "nb", "da", "so")


def is_known(known: set[str], _school: str, phone: str) -> bool:
    """True when `phone` is among the staff phones already on file."""
    return phone in known


def generate(students: int, folder: Path) -> tuple[Path, Path]:
    """Write students.csv (one row per guardian) and staff.csv into `folder`."""
    mentors = max(1, students // 25)
    staff = folder / "staff.csv"
    with staff.open("w", encoding="utf-8") as out:
        out.write("school,name,phone,role,language\n")
        for m in range(mentors):
            out.write(f"Bench skola,Mentor {m},070-{100000 + m:06d}0,mentor,sv\n")
    roster = folder / "students.csv"
    with roster.open("w", encoding="utf-8") as out:
        out.write(",".join(STUDENT_COLUMNS) + "\n")
        for s in range(students):
            mentor = f"070-{100000 + s % mentors:06d}0"
            for g in range(2):
                phone = f"073-{(2 * s + g):07d}"
                out.write(
                    f"Bench skola,{s % 40}A,S{s:06d},Elev {s},sv,,no,Vårdnadshavare {s}-{g},"
                    f"{phone},{LANGUAGES[(s + g) % len(LANGUAGES)]},{mentor}\n"
                )
    return roster, staff


def main() -> None:
    """Generate, import twice (first load, then an unchanged re-import) and print figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        roster_file, staff_file = generate(args.students, folder)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for label in ("first import", "re-import"):
            started = time.perf_counter()
            with session_scope(engine) as session:
                known = staff_phones(session, "Bench skola")  # as the CLI: once per school
                roster, problems = parse_roster(
                    roster_file.read_bytes(), staff_file.read_bytes(), lambda _school: "SE",
                    known_staff=partial(is_known, known),
                )
                if problems:
                    sys.exit("\n".join(problems.items[:10]))
                parsed = time.perf_counter() - started
                counts = apply_roster(
                    session, roster, now=datetime.now(UTC),
                    default_policy=PRESETS["ljusnarsberg"], timezone="Europe/Stockholm",
                )
            elapsed = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(
                f"{label}: {args.students} students, {2 * args.students} guardians: "
                f"{elapsed:.1f} s (parse+validate {parsed:.1f} s), "
                f"peak RSS {peak / 1024:.0f} MB (before import {base_rss / 1024:.0f} MB); "
                f"new people {counts.counts.get('people new', 0)}, "
                f"new students {counts.counts.get('students new', 0)}"
            )


if __name__ == "__main__":
    main()
