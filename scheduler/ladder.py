"""The escalation ladder, run: students move between steps; steps give staff tasks.

A sweep reads the counters of every student whose roll call changed since it last looked
(plus, once a day, everyone on a step, and anyone whose absence reported ahead has come),
moves them on their school's ladder (`policy.ladder`), and on entering a step creates its
tasks once, for the people the plan names, due on school days at the start of the day, and
sends the guardians the step's letters. Recurring tasks continue every N weeks while the
step holds. When a student leaves a step (the counters fell below it) the mentor is told and
its recurring tasks stop. `scheduler.task_nudges` sends each task to its owner when due.

What a sweep reads it reads in bulk (positions, records, mentors, the staff by role, the
day's calls), so one day's roll call for thousands of students stays well under a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_, update
from sqlmodel import Session, col, select

from locales import gettext_for
from policy.calendar import SchoolCalendar
from policy.ladder import Ladder, Step, TaskRule, counters, term_of
from policy.routing import AUTO
from scheduler.letters import send_letters
from storage.attendance import ladder_records
from storage.audit import audit_closed
from storage.concerns import concern_changes, concerned
from storage.db import chunks
from storage.models import (
    Absence,
    LadderPosition,
    Person,
    School,
    StaffTask,
    Student,
)
from storage.outbox import enqueue
from storage.plan_tasks import LADDER_PREFIX, ladder_named, pick_owners, task_rows, with_role
from storage.reports import mentors_by_student
from storage.schools import school_calendar
from storage.tasks import CALL_PREFIX, add_tasks, student_label

log = logging.getLogger(__name__)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How long before the last sweep a change is still looked for again.
_MARGIN = timedelta(minutes=10)


def advance_ladders(session: Session, now: datetime) -> int:
    """Move every student whose roll call changed; returns how many tasks were created."""
    created = 0
    for school in session.execute(select(School)).scalars():
        ladder = ladder_named(school.policy)
        if ladder is not None:
            with session.no_autoflush:
                created += _SchoolSweep(session, school, ladder, now).run()
    return created


@dataclass
class _Position:
    """A student's place on the ladder, as read (plain values, not an ORM row)."""

    step_id: str | None
    level: int
    entered_at: datetime | None
    evaluated_at: datetime


class _SchoolSweep:
    """One school's sweep; what it reads once is shared by all its students."""

    def __init__(self, session: Session, school: School, ladder: Ladder, now: datetime) -> None:
        self.session, self.school, self.ladder, self.now = session, school, ladder, now
        self.zone = ZoneInfo(school.timezone)
        self.today = now.astimezone(self.zone).date()
        self.calendar: SchoolCalendar = school_calendar(session, school)
        self.steps = {step.id: step for step in ladder.steps}
        self.rows: list[dict[str, object]] = []
        self.entered: list[tuple[int, Step]] = []
        self._staff: dict[tuple[str, ...], list[Person]] = {}
        self._mentors: dict[int, list[Person]] = {}
        self._called: set[int] = set()

    def run(self) -> int:
        """Read who may have moved, move them, write their positions and new tasks."""
        due, positions = self._due()
        if not due:
            return 0
        term = term_of(self.calendar, self.today)
        records = ladder_records(self.session, due, term.start, self.today)
        worried = concerned(self.session, due)
        school_days = self.calendar.school_days(term.start, self.today)
        self._mentors = mentors_by_student(self.session, due)
        self._called = self._called_today(due)
        written: list[dict[str, object]] = []
        for student_id in due:
            position = positions.get(student_id)
            on = self.steps.get(position.step_id or "") if position else None
            entered = position.entered_at if position else None
            found = counters(records.get(student_id, []), self.calendar, self.today,
                             weeks_in_step=_weeks_since(entered, self.zone, self.today),
                             school_days=school_days, concern=student_id in worried)
            new = self.ladder.advance(on, found)
            if new is not on:
                self._move(student_id, on, new)
                entered = self.now if new else None
            if new is not None:
                self._recurring(student_id, new, entered)
            written.append({"student_id": student_id, "step_id": new.id if new else None,
                            "level": new.level if new else 0, "entered_at": entered,
                            "evaluated_at": self.now})
        self._write_positions(written, positions)
        send_letters(self.session, self.school, self.entered, self.today, self.now)
        return len(add_tasks(self.session, self.rows, now=self.now))

    def _positions(self, *where: Any) -> dict[int, _Position]:
        return {student_id: _Position(step_id, level, entered, evaluated)
                for student_id, step_id, level, entered, evaluated in self.session.execute(
                    select(LadderPosition.student_id, LadderPosition.step_id,
                           LadderPosition.level, LadderPosition.entered_at,
                           LadderPosition.evaluated_at)
                    .join(Student, col(Student.id) == LadderPosition.student_id)
                    .where(Student.school_id == self.school.id, *where)).all()}

    def _due(self) -> tuple[list[int], dict[int, _Position]]:
        """Whose counters may have changed since the sweep last read them, and where those
        students stand. Reads only what changed, not every position of the school."""
        school_id, today, zone = self.school.id, self.today, self.zone
        term = term_of(self.calendar, today)
        last = self.session.execute(
            select(func.max(LadderPosition.evaluated_at))
            .join(Student, col(Student.id) == LadderPosition.student_id)
            .where(Student.school_id == school_id)).scalar()
        # Only roll call changed since the last sweep looked (less a margin for transactions
        # still open then) can have moved anyone.
        watermark = (last or _EPOCH) - _MARGIN
        changed: dict[int, datetime] = dict(concern_changes(self.session, school_id or 0))
        for student_id, updated in self.session.execute(
            select(Absence.student_id, func.max(Absence.updated_at))
            .join(Student, col(Student.id) == Absence.student_id)
            .where(Student.school_id == school_id, col(Absence.day) >= term.start,
                   col(Absence.updated_at) > watermark)
            .group_by(col(Absence.student_id))
        ).all():
            changed[student_id] = max(updated, changed.get(student_id, updated))
        # An absence reported ahead counts from its day on: read again once that day has come.
        # (Days up to the last sweep's day were looked at by the first sweep of that day.)
        since = max(last.astimezone(zone).date() if last else term.start, term.start)
        came: dict[int, date] = dict(self.session.execute(
            select(Absence.student_id, func.max(Absence.day))
            .join(Student, col(Student.id) == Absence.student_id)
            .where(Student.school_id == school_id, col(Absence.day) <= today,
                   col(Absence.day) > since, col(Absence.updated_at) <= watermark)
            .group_by(col(Absence.student_id))).all())
        # Students on a step are read every day too: weeks without improvement move them on.
        start_of_day = datetime.combine(today, time(0, 0), zone)
        positions = self._positions(col(LadderPosition.step_id).is_not(None),
                                    LadderPosition.evaluated_at < start_of_day)
        due = list(positions)
        asked = [s for s in dict.fromkeys([*changed, *came]) if s not in positions]
        for part in chunks(asked):
            positions.update(self._positions(col(LadderPosition.student_id).in_(part)))
        for student_id, updated in changed.items():
            position = positions.get(student_id)
            if position is None or updated > position.evaluated_at:
                due.append(student_id)
        for student_id, day in came.items():
            position = positions.get(student_id)
            if position is None or day > position.evaluated_at.astimezone(zone).date():
                due.append(student_id)
        return list(dict.fromkeys(due)), positions

    def _write_positions(self, written: list[dict[str, object]],
                         positions: dict[int, _Position]) -> None:
        known = [row for row in written if row["student_id"] in positions]
        new = [row for row in written if row["student_id"] not in positions]
        for part in chunks(known, 1000):
            self.session.execute(update(LadderPosition), part)
        for part in chunks(new, 1000):
            self.session.execute(insert(LadderPosition), part)

    def _called_today(self, students: list[int]) -> set[int]:
        """Students the roll call gave the mentor a call home about today (about today's
        absence, or an earlier day's roll call that came in late)."""
        start = datetime.combine(self.today, time(0, 0), self.zone)
        found: set[int] = set()
        for part in chunks(students):
            found.update(student_id for student_id, in self.session.execute(
                select(StaffTask.student_id).where(
                    StaffTask.school_id == self.school.id,
                    col(StaffTask.student_id).in_(part),
                    col(StaffTask.dedupe_key).startswith(CALL_PREFIX),
                    or_(col(StaffTask.dedupe_key).contains(f":{self.today.isoformat()}:"),
                        StaffTask.created_at >= start))).all() if student_id is not None)
        return found

    def _staff_with(self, roles: tuple[str, ...]) -> list[Person]:
        if roles not in self._staff:
            self._staff[roles] = with_role(self.session, self.school.id or 0, roles)
        return self._staff[roles]

    def _tasks(self, student_id: int, step: Step, rules: list[int], tag: str) -> None:
        mentors = self._mentors.get(student_id, [])
        self.rows += task_rows(
            self.school, self.calendar, student_id, step, rules, counted_from=self.today,
            tag=tag, owners_of=lambda who: pick_owners(who, mentors, self._staff_with))

    def _move(self, student_id: int, on: Step | None, new: Step | None) -> None:
        """Enter `new` (its tasks and letters, once) or leave `on` (the mentor is told)."""
        if new is not None and (on is None or new.level > on.level):
            log.info("ladder: student %s enters step %s", student_id, new.id)
            self.entered.append((student_id, new))
            self._tasks(student_id, new, [
                index for index, rule in enumerate(new.tasks)
                if not rule.after and not self._called_already(student_id, rule)], "t")
            return
        log.info("ladder: student %s leaves step %s", student_id, on.id if on else "-")
        if on is None or not any(rule.every_weeks for rule in on.tasks):
            return  # nothing recurring stops: nothing to tell
        self._left(student_id, on)

    def _called_already(self, student_id: int, rule: TaskRule) -> bool:
        """A same-day call home the roll call's notice already gave the mentor."""
        return (rule.kind == "call_home" and rule.due == "same_day"
                and student_id in self._called)

    def _left(self, student_id: int, on: Step) -> None:
        student = self.session.get(Student, student_id)
        if student is None:
            return
        label = student_label(self.session, student)
        for mentor in self._mentors.get(student_id, []):
            enqueue(self.session, dedupe_key=f"ladder-left:{student_id}:{on.id}:"
                    f"{self.today.isoformat()}:{mentor.id}", recipient_id=mentor.id,
                    channel=AUTO, language=mentor.language, now=self.now, text=gettext_for(
                        mentor.language,
                        # Translators: to a mentor; {student}: "Name (class)"; {step}: the
                        # plan's words for the step.
                        "{student} no longer meets the step \u201c{step}\u201d of the plan; "
                        "its recurring tasks have stopped.", student=label, step=_step_name(on)))
        for task in self.session.execute(select(StaffTask).where(
                col(StaffTask.dedupe_key).like(f"{LADDER_PREFIX}{student_id}:{on.id}:%"),
                col(StaffTask.status).in_(["open", "snoozed"]))).scalars():
            if task.dedupe_key.rsplit(":", 1)[-1].startswith("r"):  # a recurring occurrence
                task.status, task.outcome, task.done_at = "not_needed", "step_left", self.now
                audit_closed(self.session, task, self.now)

    def _recurring(self, student_id: int, step: Step, entered: datetime | None) -> None:
        """The next occurrence of each recurring task of the step, when its week has come."""
        if entered is None:
            return
        weeks = int(_weeks_since(entered, self.zone, self.today))
        for index, rule in enumerate(step.tasks):
            if rule.every_weeks and weeks >= rule.every_weeks:
                self._tasks(student_id, step, [index], f"r{weeks // rule.every_weeks}")


def _weeks_since(entered: datetime | None, zone: ZoneInfo, today: date) -> float:
    """Weeks on a step by the calendar: two weeks after a Monday is the Monday after next,
    from its first sweep on."""
    return (today - entered.astimezone(zone).date()).days / 7 if entered else 0.0


def _step_name(step: Step | None) -> str:
    if step is None:
        return ""
    return step.tasks[0].what if step.tasks else step.id
