"""Ladder counters at scale: 20,000 students over a full autumn term of roll call.

Run: python benchmarks/ladder.py [--students 20000] [--database-url URL]
Writes a term of absences and late arrivals (about 6 % absence, one row per absence or
late arrival) for a generated school into a fresh database, then times:
- full recomputation: read every row of the term and compute every student's counters
  and current ladder step (the Ljusnarsberg preset);
- incremental: after one day's roll call (2,000 new rows), read and recompute only the
  students that roll call touched.
Then the same through the sweep `narvaro run` runs every 30 s (`advance_ladders`, which also
keeps each student's position and creates the steps' tasks): its first run over everyone,
its run after one day's roll call, and a run when nothing changed.
Prints the times and the peak memory (RSS high-water mark of this process).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from policy.calendar import DateRange, SchoolCalendar
from policy.ladder import Ladder, Record, counters, load_ladder
from scheduler.ladder import advance_ladders
from storage.db import make_engine, session_scope, upgrade
from storage.models import Absence, Person, School, SchoolClass, Student

TERM = DateRange(date(2026, 8, 17), date(2026, 12, 22), "HT26")
CALENDAR = SchoolCalendar(country="SE", terms=(TERM,))
TODAY = date(2026, 12, 18)
NOW = datetime(2026, 12, 18, 12, 0, tzinfo=UTC)


def generate(engine_url: str, students: int) -> None:
    """A school, its students and a term of roll call, written in bulk."""
    engine = make_engine(engine_url)
    upgrade(engine)
    rng = random.Random(11)
    days = CALENDAR.school_days(TERM.start, TODAY - timedelta(days=1))
    with session_scope(engine) as session:
        school = School(name="Bench", country="SE", timezone="Europe/Stockholm", language="sv",
                        policy="ljusnarsberg", created_at=NOW)
        session.add(school)
        session.flush()
        classes = [SchoolClass(school_id=school.id or 0, name=f"{n}A") for n in range(40)]
        session.add_all(classes)
        session.flush()
        session.execute(insert(Person), [
            {"name": f"Elev {n}", "language": "sv", "created_at": NOW, "updated_at": NOW}
            for n in range(students)])
        person_ids = list(session.execute(select(Person.id).order_by(col(Person.id))).scalars())
        session.execute(insert(Student), [
            {"school_id": school.id, "class_id": classes[n % 40].id, "external_id": f"S{n}",
             "person_id": person_ids[n]} for n in range(students)])
        student_ids = list(session.execute(select(Student.id)).scalars())
        rows = []
        for student_id in student_ids:
            rate = rng.choice((0.01, 0.03, 0.05, 0.1, 0.25))
            for day in days:
                roll = rng.random()
                if roll < rate:
                    rows.append({"student_id": student_id, "day": day, "slot": "day",
                                 "kind": "absent", "source": "import", "recorded_at": NOW,
                                 "updated_at": NOW,
                                 "state": rng.choice(("reported", "reported", "unexcused"))})
                elif roll < rate + 0.02:
                    rows.append({"student_id": student_id, "day": day, "slot": "day",
                                 "kind": "late", "source": "import", "recorded_at": NOW,
                                 "updated_at": NOW, "state": "unexcused", "minutes_late": 10})
        for chunk in range(0, len(rows), 20_000):
            session.execute(insert(Absence), rows[chunk:chunk + 20_000])
    engine.dispose()
    print(f"generated {students} students, {len(rows)} roll-call rows over "
          f"{len(days)} school days")


def evaluate(engine_url: str, ladder: Ladder, only: list[int] | None = None) -> int:
    """Read the term's rows (of `only` students, or all) and compute each one's step."""
    engine = make_engine(engine_url)
    school_days = CALENDAR.school_days(TERM.start, TODAY)
    by_student: dict[int, list[Record]] = defaultdict(list)
    with session_scope(engine) as session:
        query = sa_select(col(Absence.student_id), col(Absence.day), col(Absence.kind),
                          col(Absence.state), col(Absence.lesson_start),
                          col(Absence.lesson_end)).where(
            col(Absence.day) >= TERM.start, col(Absence.day) <= TODAY)
        chunks = [only[i:i + 5000] for i in range(0, len(only), 5000)] if only else [None]
        for chunk in chunks:
            rows = session.execute(
                query.where(col(Absence.student_id).in_(chunk)) if chunk else query).all()
            for student_id, day, kind, state, start, end in rows:
                by_student[student_id].append(Record(day, kind, state, start, end))
    steps = 0
    for records in by_student.values():
        if ladder.current(counters(records, CALENDAR, TODAY, school_days=school_days)):
            steps += 1
    engine.dispose()
    return steps


def timed_sweep(engine_url: str, now: datetime) -> float:
    """One run of the ladder sweep as of `now`; its wall time."""
    engine = make_engine(engine_url)
    started = time.perf_counter()
    with session_scope(engine) as session:
        advance_ladders(session, now)
    took = time.perf_counter() - started
    engine.dispose()
    return took


def roll_call(engine_url: str, seed: int, at: datetime) -> list[int]:
    """One day's roll call for 2,000 students (new absence rows today, stamped `at`)."""
    engine = make_engine(engine_url)
    with session_scope(engine) as session:
        ids = list(session.execute(select(Student.id)).scalars())
        touched = random.Random(seed).sample(ids, min(2000, len(ids)))
        session.execute(insert(Absence), [
            {"student_id": s, "day": TODAY, "slot": f"{seed:02d}:00", "kind": "absent",
             "lesson_start": None, "state": "unexcused", "source": "import",
             "recorded_at": at, "updated_at": at} for s in touched])
    engine.dispose()
    return touched


def main() -> None:
    """Generate, then time a full and an incremental evaluation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    ladder = load_ladder("ljusnarsberg")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        generate(url, args.students)
        started = time.perf_counter()
        on_a_step = evaluate(url, ladder)
        full = time.perf_counter() - started
        engine = make_engine(url)
        with session_scope(engine) as session:
            ids = list(session.execute(select(Student.id)).scalars())
            touched = random.Random(5).sample(ids, min(2000, len(ids)))
            session.execute(insert(Absence), [
                {"student_id": s, "day": TODAY, "slot": "day", "kind": "absent",
                 "state": "unexcused", "source": "import", "recorded_at": NOW,
                 "updated_at": NOW} for s in touched])
        engine.dispose()
        started = time.perf_counter()
        evaluate(url, ladder, only=touched)
        incremental = time.perf_counter() - started
        first = timed_sweep(url, NOW + timedelta(hours=1))
        roll_call(url, 7, NOW + timedelta(hours=2))
        after_roll_call = timed_sweep(url, NOW + timedelta(hours=3))
        idle = timed_sweep(url, NOW + timedelta(hours=3, seconds=30))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"full recomputation: {args.students} students in {full:.2f} s "
              f"({on_a_step} on a ladder step); incremental after one day's roll call "
              f"({len(touched)} students): {incremental:.2f} s")
        print(f"the sweep (advance_ladders): first run {first:.2f} s; after one day's roll "
              f"call (2,000 students) {after_roll_call:.2f} s; nothing changed {idle:.2f} s")
        print(f"peak RSS {peak / 1024:.0f} MB")


if __name__ == "__main__":
    main()
