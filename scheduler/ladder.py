"""The escalation ladder, run: students move between steps; steps give staff tasks.

A sweep reads the counters of every student whose roll call changed since it last looked
(plus, once a day, everyone on a step, and anyone whose absence reported ahead has come),
moves them on their school's ladder (`policy.ladder`), and on entering a step creates its
tasks, for the people the plan names, due on school days at the start of the day, and
sends the guardians the step's letters. Positions, counters and tasks belong to a period
(term or school year): a step's tasks are made once per period, or once per episode for a
step of a running absence, and a new period starts from no step. Rungs passed on the way
up give the duties the ladder carries over; duties "each time" come with every occasion.
A step holds while its cause lasts (`Ladder.settle`); recurring tasks continue every N
weeks while it does. When a student leaves a step the mentor is told once and its
recurring tasks stop. `scheduler.task_nudges` sends each task to its owner when due.

What a sweep reads it reads in bulk (positions, records, mentors, the staff by role, the
day's calls), so one day's roll call for thousands of students stays well under a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from locales import gettext_for
from policy.calendar import SchoolCalendar
from policy.ladder import (
    Episode,
    Frame,
    Ladder,
    Record,
    Step,
    TaskRule,
    counters,
    episodes,
    frame_of,
)
from policy.routing import AUTO
from scheduler.letters import send_letters
from scheduler.schools import SchoolNow, each_school
from storage.attendance import ladder_records
from storage.audit import audit_closed
from storage.concerns import concern_changes, concerned
from storage.db import chunks
from storage.models import (
    Absence,
    LadderPosition,
    Person,
    StaffTask,
    Student,
)
from storage.notices import calls_of
from storage.outbox import MessageKind, enqueue
from storage.plan_tasks import (
    LADDER_PREFIX,
    ladder_key,
    ladder_named,
    pick_owners,
    task_rows,
    with_role,
)
from storage.reports import mentors_by_student
from storage.tasks import add_tasks, student_label

log = logging.getLogger(__name__)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How long before the last sweep a change is still looked for again.
_MARGIN = timedelta(minutes=10)


def advance_ladders(session: Session, now: datetime) -> int:
    """Move every student whose roll call changed; returns how many tasks were created."""
    created = 0
    for found in each_school(session, now):
        ladder = ladder_named(found.school.policy)
        if ladder is not None:
            with session.no_autoflush:
                created += _SchoolSweep(session, found, ladder, now).run()
    return created


@dataclass
class _Position:
    """A student's place on the ladder, as read (plain values, not an ORM row)."""

    step_id: str | None
    level: int
    entered_at: datetime | None
    evaluated_at: datetime
    period_start: date | None = None
    below_since: date | None = None


class _SchoolSweep:
    """One school's sweep; what it reads once is shared by all its students."""

    def __init__(self, session: Session, found: SchoolNow, ladder: Ladder,
                 now: datetime) -> None:
        self.session, self.school, self.ladder, self.now = session, found.school, ladder, now
        self.zone, self.today = found.zone, found.today
        self.calendar: SchoolCalendar = found.calendar
        self.steps = {step.id: step for step in ladder.steps}
        self.rows: list[dict[str, object]] = []
        self.entered: list[tuple[int, Step]] = []
        self._staff: dict[tuple[str, ...], list[Person]] = {}
        self._mentors: dict[int, list[Person]] = {}
        #: Tasks to make once the students' mentors are read: (student, step, rules, tag).
        self._pending: list[tuple[int, Step, list[int], str]] = []
        #: (student, step) whose recurring tasks stop in this sweep, and why.
        self._stopping: dict[tuple[int, str], str] = {}
        self._called: dict[int, set[date]] = {}
        self._frame: Frame | None = None
        #: Students whose roll call or concern changed since the sweep last read them.
        self._changed: set[int] = set()
        #: Steps that time alone can move a student off or up from: a running absence, a
        #: share, or a waiting step above them.
        self._moved_by_time = {step.id for step in ladder.steps if step.per_episode
                               or step.by_share or any(other.waits and other.level > step.level
                                                       for other in ladder.steps)}
        #: Whether the ladder counts late arrivals by month.
        self._monthly = any("late_this_month" in step.counters for step in ladder.steps)

    def run(self) -> int:
        """Read who may have moved, move them, write their positions and new tasks."""
        due, positions = self._due()
        weekly = self._weekly_only(due, positions)
        due = [student_id for student_id in due if student_id not in weekly]
        if not due and not weekly:
            return 0
        frame = self.frame
        records = ladder_records(self.session, due, frame.first, self.today)
        worried = concerned(self.session, due)
        self._called = self._called_days(due)
        evaluated = self._evaluated(due, positions)
        written: list[dict[str, object]] = []
        for student_id in due:
            position = positions.get(student_id)
            current = position is not None and position.period_start == frame.period.start
            on = self.steps.get(position.step_id or "") if position and current else None
            if position is not None and position.step_id and not current:
                self._period_ended(student_id, position.step_id)
            entered = position.entered_at if position and on else None
            entered_day = entered.astimezone(self.zone).date() if entered else None
            rows = records.get(student_id, [])
            found = counters(rows, self.calendar, self.today, frame=frame,
                             counting=self.ladder.counting,
                             weeks_in_step=_weeks_since(entered, self.zone, self.today),
                             concern=student_id in worried, entered=entered_day,
                             evaluated=(student_id, on.id if on else "") in evaluated)
            new, below = self.ladder.settle(
                on, found, below_since=position.below_since if position and on else None,
                today=self.today, calendar=self.calendar)
            if new is not on:
                self._move(student_id, on, new, found)
                entered = self.now if new else None
            if new is not None:
                self._recurring(student_id, new, entered,
                                position.evaluated_at if position and new is on else None)
                self._each_occasion(student_id, new, found, rows)
            written.append({"student_id": student_id, "step_id": new.id if new else None,
                            "level": new.level if new else 0, "entered_at": entered,
                            "evaluated_at": self.now, "period_start": frame.period.start,
                            "below_since": below})
        for student_id in weekly:  # nothing to count again: only the week's tasks
            position = positions[student_id]
            step = self.steps[position.step_id or ""]
            self._recurring(student_id, step, position.entered_at, position.evaluated_at)
            written.append({"student_id": student_id, "step_id": step.id, "level": step.level,
                            "entered_at": position.entered_at, "evaluated_at": self.now,
                            "period_start": position.period_start, "below_since": None})
        self._write_positions(written, positions)
        # A step of a running absence writes once per episode (the day it was entered),
        # any other once per period.
        send_letters(self.session, self.school, self.entered, self.today, self.now,
                     once_per={step.id: frame.period.start for step in self.ladder.steps
                               if not step.per_episode})
        self._make_pending()
        self._close_stopped()
        return len(add_tasks(self.session, self.rows, now=self.now))

    @property
    def frame(self) -> Frame:
        """Today's frame of counting for the school (period, its school days, the window)."""
        if self._frame is None:
            self._frame = frame_of(self.calendar, self.today, self.ladder.counting)
        return self._frame

    def _evaluated(self, students: list[int], positions: dict[int, _Position]
                   ) -> set[tuple[int, str]]:
        """(student, step) where the step's evaluation task is done since it was entered."""
        wanted = {step.id: {index for index, rule in enumerate(step.tasks) if rule.evaluation}
                  for step in self.ladder.steps}
        if not any(wanted.values()):
            return set()
        found: set[tuple[int, str]] = set()
        for part in chunks(students):
            for student_id, key, created in self.session.execute(
                select(StaffTask.student_id, StaffTask.dedupe_key, StaffTask.created_at).where(
                    StaffTask.school_id == self.school.id, col(StaffTask.student_id).in_(part),
                    StaffTask.status == "done",
                    col(StaffTask.dedupe_key).startswith(LADDER_PREFIX))).all():
                read = ladder_key(key)
                position = positions.get(student_id or 0)
                if (read is None or position is None or position.entered_at is None
                        or read.step_id != position.step_id):
                    continue
                if read.index in wanted.get(read.step_id, set()) and (
                        created >= position.entered_at - _MARGIN):
                    found.add((student_id or 0, read.step_id))
        return found

    def _positions(self, *where: Any) -> dict[int, _Position]:
        return {student_id: _Position(step_id, level, entered, evaluated, period, below)
                for student_id, step_id, level, entered, evaluated, period, below
                in self.session.execute(
                    # SQLAlchemy's select: SQLModel's is typed for four columns at most
                    sa_select(col(LadderPosition.student_id), col(LadderPosition.step_id),
                              col(LadderPosition.level), col(LadderPosition.entered_at),
                              col(LadderPosition.evaluated_at),
                              col(LadderPosition.period_start),
                              col(LadderPosition.below_since))
                    .join(Student, col(Student.id) == LadderPosition.student_id)
                    .where(col(Student.school_id) == self.school.id, *where)).all()}

    def _due(self) -> tuple[list[int], dict[int, _Position]]:
        """Whose counters may have changed since the sweep last read them, and where those
        students stand. Reads only what changed, not every position of the school."""
        school_id, today, zone = self.school.id, self.today, self.zone
        term = self.frame.period
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
            .where(Student.school_id == school_id, col(Absence.day) >= self.frame.first,
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
        # Students on a step are read every day too where time alone can move them (see
        # `_static`): a share, a running absence, weeks without improvement, a week turned.
        start_of_day = datetime.combine(today, time(0, 0), zone)
        positions = self._positions(col(LadderPosition.step_id).is_not(None),
                                    LadderPosition.evaluated_at < start_of_day)
        due = [student_id for student_id, position in positions.items()
               if not self._static(position)]
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
        self._changed = {*changed, *came}
        return list(dict.fromkeys(due)), positions

    def _weekly_only(self, due: list[int], positions: dict[int, _Position]) -> set[int]:
        """Students read today only because a recurring week of their step turned, with no
        new roll call or concern: their counters cannot have changed."""
        return {student_id for student_id in due
                if (position := positions.get(student_id)) is not None
                and student_id not in self._changed and self._static(position, weeks=False)}

    def _static(self, position: _Position, *, weeks: bool = True) -> bool:
        """Whether only new roll call (or a concern) can change this student's step today:
        not a new period, nothing held, a step of occasions with no waiting step above it,
        no recurring week (nor, where the ladder counts late arrivals by month, a month)
        turned since it was last read. Such students are not
        read again every day."""
        step = self.steps.get(position.step_id or "")
        if (step is None or position.period_start != self.frame.period.start
                or position.below_since is not None or step.id in self._moved_by_time):
            return False
        last = position.evaluated_at.astimezone(self.zone).date()
        if self._monthly and (last.year, last.month) != (self.today.year, self.today.month):
            return False  # a month's late arrivals start again
        entered = position.entered_at
        return not (weeks and entered is not None and any(rule.every_weeks for rule in step.tasks)
                    and int(_weeks_since(entered, self.zone, self.today))
                    != int(_weeks_since(entered, self.zone, last)))

    def _write_positions(self, written: list[dict[str, object]],
                         positions: dict[int, _Position]) -> None:
        known = [row for row in written if row["student_id"] in positions]
        new = [row for row in written if row["student_id"] not in positions]
        for part in chunks(known, 1000):
            self.session.execute(update(LadderPosition), part)
        for part in chunks(new, 1000):
            self.session.execute(insert(LadderPosition), part)

    def _called_days(self, students: list[int]) -> dict[int, set[date]]:
        """Per student, the days the roll call gave the mentor a call home about (this
        period); today too when such a call was made today about an earlier day's roll call
        that came in late."""
        start = datetime.combine(self.today, time(0, 0), self.zone)
        found: dict[int, set[date]] = {}
        for student_id, day, created in calls_of(
                self.session, self.school.id or 0, students,
                datetime.combine(self.frame.first, time(0, 0), self.zone)):
            days = found.setdefault(student_id, set())
            days.add(day)
            if created >= start:
                days.add(self.today)
        return found

    def _staff_with(self, roles: tuple[str, ...]) -> list[Person]:
        if roles not in self._staff:
            self._staff[roles] = with_role(self.session, self.school.id or 0, roles)
        return self._staff[roles]

    def _tasks(self, student_id: int, step: Step, rules: list[int], tag: str) -> None:
        self._pending.append((student_id, step, rules, tag))

    def _make_pending(self) -> None:
        """The task rows asked for, with the mentors read only for their students."""
        students = list(dict.fromkeys(student_id for student_id, *_ in self._pending))
        missing = [s for s in students if s not in self._mentors]
        if missing:
            self._mentors.update(mentors_by_student(self.session, missing))
        for student_id, step, rules, tag in self._pending:
            self.rows += task_rows(
                self.school, self.calendar, student_id, step, rules, counted_from=self.today,
                tag=tag, owners_of=partial(self._owners, self._mentors.get(student_id, [])))
        self._pending.clear()

    def _owners(self, mentors: list[Person], who: str) -> list[Person]:
        return pick_owners(who, mentors, self._staff_with)

    def _entry_tag(self, step: Step) -> str:
        """A step's tasks once per period, or once per episode for a running absence."""
        return f"t@{(self.today if step.per_episode else self.frame.period.start).isoformat()}"

    def _move(self, student_id: int, on: Step | None, new: Step | None,
              found: dict[str, float]) -> None:
        """Enter `new` (its tasks and letters, and what the rungs passed carry over) or
        leave `on` (the mentor is told)."""
        if new is not None and (on is None or new.level > on.level):
            log.info("ladder: student %s enters step %s", student_id, new.id)
            letters = list(dict.fromkeys([*new.messages, *(
                kind for step in self.ladder.passed(on, new, found) for kind in step.messages)]))
            self.entered.append((student_id, replace(new, messages=tuple(letters))))
            self._tasks(student_id, new, [
                index for index, rule in enumerate(new.tasks)
                if not rule.after and not rule.each
                and not self._called_already(student_id, rule)], self._entry_tag(new))
            for step, index in self.ladder.carried(on, new, found):
                if not self._called_already(student_id, step.tasks[index]):
                    self._tasks(student_id, step, [index], self._entry_tag(step))
            return
        log.info("ladder: student %s leaves step %s", student_id, on.id if on else "-")
        if on is None or not any(rule.every_weeks for rule in on.tasks):
            return  # nothing recurring stops: nothing to tell
        self._left(student_id, on)

    def _each_occasion(self, student_id: int, on: Step, found: dict[str, float],
                       rows: list[Record]) -> None:
        """The duties "each time" of the steps held up to `on`, for every recent occasion
        (one that ended in the last week of school days), once each."""
        steps = [step for step in self.ladder.steps if step.level <= on.level
                 and any(rule.each for rule in step.tasks)
                 and (step is on or step.holds(found))]
        if not steps:
            return
        frame = self.frame
        recent = frame.days[-6] if len(frame.days) >= 6 else (
            frame.days[0] if frame.days else self.today)
        by_kind: dict[str, list[Episode]] = {}
        for step in steps:
            for index, rule in enumerate(step.tasks):
                if not rule.each:
                    continue
                if rule.each not in by_kind:
                    by_kind[rule.each] = [
                        episode for episode in episodes(_occasion_rows(rows, rule.each),
                                                        frame.days, frame.index)
                        if episode.end >= recent and (rule.each != "lesson"
                                                      or not episode.whole_days)]
                for episode in by_kind[rule.each]:
                    if self._called_already(student_id, rule, episode.start, episode.end):
                        continue
                    self._tasks(student_id, step, [index], f"o{episode.start.isoformat()}")

    def _called_already(self, student_id: int, rule: TaskRule, first: date | None = None,
                        last: date | None = None) -> bool:
        """A call home the roll call's notice already gave the mentor (today, or about a day
        from `first` to `last`)."""
        if not rule.roll_call_call:
            return False
        days = self._called.get(student_id, set())
        first, last = first or self.today, last or self.today
        return any(first <= day <= last for day in days)

    def _left(self, student_id: int, on: Step) -> None:
        student = self.session.get(Student, student_id)
        if student is None:
            return
        label = student_label(self.session, student)
        if student_id not in self._mentors:
            self._mentors.update(mentors_by_student(self.session, [student_id]))
        for mentor in self._mentors.get(student_id, []):
            enqueue(self.session, dedupe_key=f"ladder-left:{student_id}:{on.id}:"
                    f"{self.today.isoformat()}:{mentor.id}", recipient_id=mentor.id,
                    kind=MessageKind.LADDER, student_id=student_id, day=self.today,
                    channel=AUTO, language=mentor.language, now=self.now, text=gettext_for(
                        mentor.language,
                        # Translators: to a mentor; {student}: "Name (class)"; {step}: the
                        # plan's words for the step.
                        "{student} no longer meets the step \u201c{step}\u201d of the plan; "
                        "its recurring tasks have stopped.", student=label, step=_step_name(on)))
        self._stop_recurring(student_id, on.id, "step_left")

    def _period_ended(self, student_id: int, step_id: str) -> None:
        """A new period: the old period's step's recurring tasks stop (nobody is told; the
        new period's counters start from nothing)."""
        self._stop_recurring(student_id, step_id, "period_ended")

    def _stop_recurring(self, student_id: int, step_id: str, outcome: str) -> None:
        """The step's open recurring tasks for the student stop (with the sweep's others)."""
        self._stopping[(student_id, step_id)] = outcome

    def _close_stopped(self) -> None:
        """Close the open recurring tasks `_stop_recurring` named, for all students at once."""
        students = sorted({student_id for student_id, _step in self._stopping})
        for part in chunks(students):
            for task in self.session.execute(select(StaffTask).where(
                    StaffTask.school_id == self.school.id, col(StaffTask.student_id).in_(part),
                    col(StaffTask.dedupe_key).startswith(LADDER_PREFIX),
                    col(StaffTask.status).in_(["open", "snoozed"]))).scalars():
                read = ladder_key(task.dedupe_key)
                outcome = self._stopping.get((task.student_id or 0, read.step_id)) \
                    if read and read.recurring else None
                if outcome is not None:
                    task.status, task.outcome, task.done_at = "not_needed", outcome, self.now
                    audit_closed(self.session, task, self.now)
        self._stopping.clear()

    def _recurring(self, student_id: int, step: Step, entered: datetime | None,
                   last_read: datetime | None = None) -> None:
        """The next occurrence of each recurring task of the step, when its week has come
        (looked at only when a week has turned since the step was last read)."""
        if entered is None:
            return
        weeks = int(_weeks_since(entered, self.zone, self.today))
        if last_read is not None and weeks == int(_weeks_since(
                entered, self.zone, last_read.astimezone(self.zone).date())):
            return
        since = entered.astimezone(self.zone).date().isoformat()
        for index, rule in enumerate(step.tasks):
            if rule.every_weeks and weeks >= rule.every_weeks:
                self._tasks(student_id, step, [index], f"r{weeks // rule.every_weeks}@{since}")


def _occasion_rows(rows: list[Record], each: str) -> list[Record]:
    """The records whose occasions a duty "each time" follows."""
    if each == "unexcused":
        return [r for r in rows if r.state == "unexcused"]
    return [r for r in rows if r.state in ("reported", "unexcused")]


def _weeks_since(entered: datetime | None, zone: ZoneInfo, today: date) -> float:
    """Weeks on a step by the calendar: two weeks after a Monday is the Monday after next,
    from its first sweep on."""
    return (today - entered.astimezone(zone).date()).days / 7 if entered else 0.0


def _step_name(step: Step | None) -> str:
    if step is None:
        return ""
    return step.tasks[0].what if step.tasks else step.id
