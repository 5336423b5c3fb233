"""Staff tasks: created once per dedupe key, acted on from the chat by the one they belong to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from policy.choices import GuardCancel, GuardSend, TaskDone, TaskNotNeeded, TaskReached, TaskRetry
from storage.db import insert_new
from storage.models import AuditLog, Person, SchoolClass, StaffTask, Student

#: The dedupe key of a mentor's call home: `call-home:STUDENT:DAY:MENTOR`.
CALL_PREFIX = "call-home:"
#: The data that begins a task's buttons (the task id follows), for `scheduler/` until it
#: packs the typed keys of `policy.choices` (which are the only definition).
TASK_DONE, TASK_NOT_NEEDED = TaskDone.stem(), TaskNotNeeded.stem()
TASK_REACHED, TASK_RETRY = TaskReached.stem(), TaskRetry.stem()
GUARD_SEND, GUARD_CANCEL = GuardSend.stem(), GuardCancel.stem()


def add_task(
    session: Session, *, dedupe_key: str, school_id: int, student_id: int | None,
    assignee: Person, kind: str, now: datetime, due_at: datetime | None = None,
) -> tuple[int, bool]:
    """Create the task once per `dedupe_key`; returns its id and whether it is new."""
    result = session.exec(
        insert_new(StaffTask, session.get_bind().dialect.name, ["dedupe_key"])
        .values(dedupe_key=dedupe_key, school_id=school_id, student_id=student_id,
                assignee_id=assignee.id, kind=kind, status="open", due_at=due_at or now,
                created_at=now)
    )
    task_id = session.execute(
        select(StaffTask.id).where(StaffTask.dedupe_key == dedupe_key)
    ).scalar_one()
    if result.rowcount:
        _audit_created(session, [(int(task_id), kind, student_id, assignee.id)], now)
    return int(task_id), bool(result.rowcount)


def _audit_created(session: Session, tasks: list[tuple[int, str, int | None, int | None]],
                   now: datetime) -> None:
    """One audit row per new task (the rules made it: the actor is the system)."""
    rows = [{"at": now, "actor": "system", "action": "task.create", "entity": "staff_task",
             "entity_id": str(task_id), "student_id": student_id,
             "detail": {"kind": kind, "assignee": assignee}}
            for task_id, kind, student_id, assignee in tasks]
    for start in range(0, len(rows), 1000):
        session.execute(insert(AuditLog), rows[start:start + 1000])


def add_tasks(session: Session, tasks: list[dict[str, Any]], *, now: datetime) -> dict[str, int]:
    """Create many tasks at once (dicts of StaffTask fields with a `dedupe_key`); returns the
    ids of the new ones by dedupe key (existing keys are left alone)."""
    if not tasks:
        return {}
    rows = [{"status": "open", "due_at": now, "created_at": now, **task} for task in tasks]
    statement = (insert_new(StaffTask, session.get_bind().dialect.name, ["dedupe_key"])
                 .returning(col(StaffTask.dedupe_key), col(StaffTask.id)))
    created = {key: int(task_id) for key, task_id in session.execute(statement, rows).all()}
    by_key = {row["dedupe_key"]: row for row in rows}
    _audit_created(session, [(task_id, by_key[key]["kind"], by_key[key].get("student_id"),
                              by_key[key].get("assignee_id")) for key, task_id in created.items()],
                   now)
    return created


def own_task(session: Session, person: Person, task_id: int) -> StaffTask | None:
    """The task if it belongs to `person` (anyone else learns nothing about it)."""
    task = session.get(StaffTask, task_id)
    return task if task is not None and task.assignee_id == person.id else None


def close_task(task: StaffTask, *, status: str, outcome: str | None, now: datetime) -> None:
    """Record how a task ended (done, not needed) and its outcome."""
    task.status, task.outcome, task.done_at, task.remind_at = status, outcome, now, None


def snooze_task(task: StaffTask, *, minutes: int, now: datetime) -> None:
    """Ask for the task again in `minutes` (a call that got no answer)."""
    task.status, task.outcome = "snoozed", "no_answer"
    task.remind_at = now + timedelta(minutes=minutes)


def task_student(session: Session, task: StaffTask) -> Student | None:
    """The student a task is about, if it is about one."""
    return session.get(Student, task.student_id) if task.student_id else None


def student_label(session: Session, student: Student, *, opened: bool = False) -> str:
    """"Name (class)" for messages to staff; a student with protected identity only by the
    school's id ("#N003") unless staff `opened` the record on purpose."""
    if student.protected and not opened:
        return f"#{student.external_id}"
    person = session.get(Person, student.person_id)
    name = person.name if person else f"#{student.id}"
    klass = session.get(SchoolClass, student.class_id)
    return f"{name} ({klass.name})" if klass else name


def audit_task(session: Session, person: Person, task: StaffTask, outcome: str, now: datetime,
               **detail: str) -> None:
    """An audit row for what `person` did with the task (no reasons, no names)."""
    session.add(AuditLog(at=now, actor=f"person:{person.id}", action=f"task.{outcome}",
                         entity="staff_task", entity_id=str(task.id),
                         detail={"kind": task.kind, "student": task.student_id, **detail},
                         student_id=task.student_id))
