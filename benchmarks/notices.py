"""Same-day notices at scale: 2,000 absent of 20,000 students at one cutoff.

Run: python benchmarks/notices.py [--students 20000] [--absent 2000] [--database-url URL]
Imports a generated roster (two guardians per student) and a roll call, then
times the cutoff sweep (`send_absence_notices`, as the scheduler runs it) from
its start to every notice and mentor prompt in the outbox, and prints the peak
memory (RSS high-water mark of this process) before and after.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select

from benchmarks.roster_import import generate, is_known
from policy.attendance import AttendanceRecord
from policy.presets import PRESETS
from policy.roster import parse_roster
from scheduler.notices import send_absence_notices
from storage.attendance import apply_attendance
from storage.db import make_engine, session_scope, upgrade
from storage.models import School, Student
from storage.roster import apply_roster, staff_phones
from storage.schools import ensure_school

DAY = date(2026, 11, 23)  # a Monday in term
ROLL_CALL = datetime(2026, 11, 23, 7, 20, tzinfo=UTC)  # 08:20 in Stockholm
CUTOFF = datetime(2026, 11, 23, 7, 46, tzinfo=UTC)  # just past 08:45


def main() -> None:
    """Generate, import, take the roll call, run the cutoff sweep once, print figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--absent", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        roster_file, staff_file = generate(args.students, folder)
        engine = make_engine(args.database_url or f"sqlite:///{folder / 'bench.db'}")
        upgrade(engine)
        with session_scope(engine) as session:
            known = staff_phones(session, "Bench skola")
            roster, problems = parse_roster(
                roster_file.read_bytes(), staff_file.read_bytes(), lambda _school: "SE",
                known_staff=partial(is_known, known),
            )
            if problems:
                sys.exit("\n".join(problems.items[:10]))
            apply_roster(session, roster, now=ROLL_CALL, default_policy=PRESETS["ljusnarsberg"],
                         timezone="Europe/Stockholm")
            school = ensure_school(session, "Bench skola", policy=PRESETS["ljusnarsberg"],
                                   timezone="Europe/Stockholm", now=ROLL_CALL)
            school.phone = "+46701740000"
            ids = [int(i) for i in session.execute(
                select(Student.id).where(Student.school_id == school.id)
            ).scalars()]
            absent = random.Random(7).sample(sorted(ids), min(args.absent, len(ids)))  # spread
            records = [AttendanceRecord(n, DAY, student_id, "absent", None, None, None)
                       for n, student_id in enumerate(sorted(absent))]
            apply_attendance(session, records, now=ROLL_CALL, source="import")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with session_scope(engine) as session:
            queued = send_absence_notices(session, CUTOFF)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with session_scope(engine) as session:
            schools = session.execute(select(School.id)).all()
        print(
            f"cutoff sweep: {len(records)} absent of {len(ids)} students "
            f"({len(schools)} school): {queued} messages queued (notices to guardians and "
            f"mentor prompts) in {elapsed:.2f} s; peak RSS {peak / 1024:.0f} MB "
            f"(before the sweep {before / 1024:.0f} MB)"
        )


if __name__ == "__main__":
    main()
