"""The monthly review at scale: a school of 1,000 students, and a municipality of 20,000
(twenty such schools), over November's roll call.

Run: python benchmarks/review.py [--schools 20] [--students 1000]
Writes the schools (classes of 25, about 6 % absence, lessons and whole days, reported and
unexcused; ladder positions; a month of staff tasks) into a fresh SQLite file, then times,
for one school and for all of them: reading and computing the review (`monthly_review`),
and drawing its chart (`render_png`, the picture a principal gets on Telegram); then the
municipality's review (by school) and its one chart. Prints the times, the PNG sizes and
the peak memory. Goal: under 5 s for the municipality.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlmodel import col, select

from bot.charts import render_png
from policy.calendar import SchoolCalendar
from services.review import review_chart
from storage.db import make_engine, session_scope, upgrade
from storage.models import (
    Absence,
    LadderPosition,
    Person,
    School,
    SchoolClass,
    StaffTask,
    Student,
)
from storage.review import monthly_review, municipality_review

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def generate(url: str, schools: int, students: int) -> None:
    """The schools, their students, a month of roll call, positions and tasks."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    days = SchoolCalendar(country="SE").school_days(FIRST, LAST)
    with session_scope(engine) as session:
        person = Person(name="Mentor", language="sv", created_at=NOW, updated_at=NOW)
        session.add(person)
        session.flush()
        for number in range(schools):
            school = School(name=f"Skola {number}", country="SE", timezone="Europe/Stockholm",
                            language="sv", policy="ljusnarsberg", created_at=NOW)
            session.add(school)
            session.flush()
            classes = [SchoolClass(school_id=school.id or 0,
                                   name=f"{7 + n // 14}{chr(65 + n % 14)}")
                       for n in range(students // 25)]
            session.add_all(classes)
            session.flush()
            first_person = session.execute(insert(Person).returning(col(Person.id)), [
                {"name": f"Elev {number}-{n}", "language": "sv", "created_at": NOW,
                 "updated_at": NOW} for n in range(students)]).scalars().all()
            ids = session.execute(insert(Student).returning(col(Student.id)), [
                {"school_id": school.id, "class_id": classes[n % len(classes)].id,
                 "external_id": f"S{n}", "person_id": first_person[n]}
                for n in range(students)]).scalars().all()
            rows, positions, tasks = [], [], []
            for student_id in ids:
                rate = rng.choice((0.01, 0.03, 0.05, 0.1, 0.2))
                for day in days:
                    if rng.random() < rate:
                        lesson = rng.random() < 0.4
                        rows.append({
                            "student_id": student_id, "day": day,
                            "slot": "09:00" if lesson else "day", "kind": "absent",
                            "lesson_start": clock(9) if lesson else None,
                            "lesson_end": clock(10) if lesson else None,
                            "source": "import", "recorded_at": NOW, "updated_at": NOW,
                            "state": rng.choice(("reported", "reported", "unexcused"))})
                if rate >= 0.1:
                    positions.append({"student_id": student_id, "step_id": f"s{int(rate * 10)}",
                                      "level": int(rate * 10), "evaluated_at": NOW})
                    due = datetime.combine(rng.choice(days), datetime.min.time(), UTC)
                    done = rng.random()
                    tasks.append({"dedupe_key": f"bench:{student_id}", "school_id": school.id,
                                  "student_id": student_id, "assignee_id": person.id,
                                  "kind": "call_home", "status": "done" if done < 0.8 else "open",
                                  "due_at": due, "created_at": due,
                                  "done_at": due + timedelta(days=int(done * 3))
                                  if done < 0.8 else None})
            session.execute(insert(Absence), rows)
            session.execute(insert(LadderPosition), positions)
            session.execute(insert(StaffTask), tasks)
    engine.dispose()


def main() -> None:
    """Generate, then time one school and all of them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp(prefix='narvaro-review-')}/bench.db"
    started = time.perf_counter()
    generate(url, args.schools, args.students)
    print(f"generated {args.schools} schools of {args.students} students "
          f"in {time.perf_counter() - started:.1f} s")
    engine = make_engine(url)
    with session_scope(engine) as session:
        schools = list(session.execute(select(School).order_by(col(School.id))).scalars())
        total_compute = total_draw = 0.0
        for index, school in enumerate(schools):
            started = time.perf_counter()
            review = monthly_review(session, school, FIRST, LAST, now=NOW)
            computed = time.perf_counter()
            png = render_png(review_chart(review, school.name, "sv"))
            drawn = time.perf_counter()
            total_compute += computed - started
            total_draw += drawn - computed
            if index == 0:
                print(f"one school of {args.students}: compute {computed - started:.2f} s, "
                      f"chart {drawn - computed:.2f} s ({len(png) // 1024} KiB PNG, "
                      f"{len(review.by_class)} classes)")
                Path(tempfile.gettempdir(), "narvaro-review.png").write_bytes(png)
        print(f"every school's own review: compute {total_compute:.2f} s, charts "
              f"{total_draw:.2f} s")
        started = time.perf_counter()
        review = municipality_review(session, schools, FIRST, LAST, now=NOW)
        computed = time.perf_counter()
        png = render_png(review_chart(review, "Kommunen", "sv", by_school=True))
        drawn = time.perf_counter()
    print(f"municipality of {args.schools * args.students} ({len(review.by_class)} schools): "
          f"compute {computed - started:.2f} s, chart {drawn - computed:.2f} s, together "
          f"{drawn - started:.2f} s (goal under 5 s; {len(png) // 1024} KiB PNG)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
