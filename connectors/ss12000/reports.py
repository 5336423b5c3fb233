"""Guardians' reports back to the school system, as `Anmäld frånvaro` absences, and the
days of leave the school granted, as `Beviljad ledighet` (SS 12000 has no application or
decision: only the granted days go back, one Absence per day).

The queue row is written with the report (`storage.connectors.queue_report`), so a report
is never lost. Each round claims due rows under a lease and counts an attempt; a row
tried before is first looked for on the server (`GET /absences` for the student and
days), so a report whose answer was lost is not written twice. Where the server cannot be
asked and the earlier try may have reached it, the row is left `maybe_sent` for a person
to check rather than risk a double. SS 12000 has no way to change or delete an Absence:
a report cancelled before it was written is withdrawn; one cancelled or shortened after
is marked `to_correct` (the school corrects it in its own system).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from connectors.ss12000.client import (
    AccessDenied,
    Client,
    MaybeDone,
    NotOffered,
    SS12000Error,
)
from connectors.ss12000.sync import NAME, SS12000Config
from policy.clock import Clock
from storage import connectors as kept
from storage.db import session_scope
from storage.models import (
    AbsenceReport,
    ConnectorOutbox,
    LeaveApplication,
    LeaveDay,
    School,
    Student,
)

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
ABSENCE_TYPE = "Anmäld frånvaro"
LEAVE_TYPE = "Beviljad ledighet"
UNCERTAIN = "uncertain"


def absence_body(session: Session, report: AbsenceReport) -> dict[str, Any] | None:
    """The Absence to write for `report`, or None when its student is not the school
    system's."""
    return _body(session, report.student_id, (report.first_day, report.last_day),
                 (report.part_start, report.part_end), ABSENCE_TYPE, report.reporter_id)


def leave_body(session: Session, day: LeaveDay) -> dict[str, Any] | None:
    """The Absence to write for a granted day of leave, or None when it is no longer granted
    or its student is not the school system's."""
    application = session.get(LeaveApplication, day.application_id)
    if application is None or day.decision != "granted":
        return None
    return _body(session, day.student_id, (day.day, day.day),
                 (application.part_start, application.part_end), LEAVE_TYPE,
                 application.decided_by)


def _body(session: Session, student_id: int, days: tuple[date, date],
          hours: tuple[time | None, time | None], kind: str,
          registered_by: int | None) -> dict[str, Any] | None:
    """An SS 12000 Absence from the first day's start (or midnight) to the last day's end (or
    its last second), in the school's zone; None when the student or school is gone."""
    student = session.get(Student, student_id)
    school = session.get(School, student.school_id) if student else None
    if student is None or school is None:
        return None
    zone = ZoneInfo(school.timezone)
    start = datetime.combine(days[0], hours[0] or time(0), zone)
    end = datetime.combine(days[1], hours[1] or time(23, 59, 59), zone)
    body: dict[str, Any] = {"startTime": start.isoformat(), "endTime": end.isoformat(),
                            "type": kind, "student": {"id": student.external_id}}
    if unit := kept.external_id(session, NAME, "school", school.id or 0):
        body["organisation"] = {"id": unit}
    if registered_by is not None and (
            by := kept.external_id(session, NAME, "person", registered_by)):
        body["registeredBy"] = {"id": by}
    return body


class ReportWriter:
    """Writes the queued reports to the SS 12000 server."""

    def __init__(self, config: SS12000Config, engine: Engine, clock: Clock) -> None:
        """A writer for `config`'s server."""
        self.config = config
        self.engine = engine
        self.clock = clock

    def push(self) -> dict[str, int]:
        """Write every due report once; returns how many ended in each state."""
        with session_scope(self.engine) as session:
            ids = kept.claim_reports(session, NAME, self.clock.now(), lease=LEASE)
        done: dict[str, int] = {}
        if not ids:
            return done
        with Client(self.config.url, self.config.credentials,
                    timeout=self.config.timeout) as client:
            for outbox_id in ids:
                status = self._one(client, outbox_id)
                done[status] = done.get(status, 0) + 1
        log.info("ss12000: reports written back: %s", done)
        return done

    def _one(self, client: Client, outbox_id: int) -> str:
        with session_scope(self.engine) as session:
            row = session.get(ConnectorOutbox, outbox_id)
            assert row is not None
            if row.leave_day_id is not None:
                leave = session.get(LeaveDay, row.leave_day_id)
                body = leave_body(session, leave) if leave is not None else None
                cancelled = body is None
            else:
                report = session.get(AbsenceReport, row.report_id)
                body = absence_body(session, report) if report is not None else None
                cancelled = report is None or report.cancelled_at is not None
            if cancelled or body is None:
                row.status, row.last_error = "withdrawn", "cancelled before it was written"
                return row.status
            attempts, earlier = row.attempts, row.last_error or ""
        try:
            found = self._already_there(client, body) if attempts > 1 else None
        except (NotOffered, AccessDenied):
            if earlier.startswith(UNCERTAIN):
                return self._finish(outbox_id, "maybe_sent", error="may have been written; "
                                    "the server cannot be asked: check it there")
            found = None
        except SS12000Error as error:
            return self._retry(outbox_id, attempts, str(error))
        if found is not None:
            return self._finish(outbox_id, "sent", remote_id=found)
        try:
            answer = client.request("POST", "absences", body=body)
        except MaybeDone as error:
            return self._retry(outbox_id, attempts, f"{UNCERTAIN}: {error}")
        except SS12000Error as error:
            if error.status is not None and 400 <= error.status < 500 and error.status != 429:
                return self._finish(outbox_id, "failed", error=str(error))
            return self._retry(outbox_id, attempts, str(error))
        remote = str((answer or {}).get("id") or "") or None
        return self._finish(outbox_id, "sent", remote_id=remote)

    def _already_there(self, client: Client, body: dict[str, Any]) -> str | None:
        """The id of an Absence like `body` on the server (an earlier try's), if any."""
        start, end = _instant(body["startTime"]), _instant(body["endTime"])
        for absence in client.pages("absences", {
                "student": body["student"]["id"], "type": body["type"],
                "startTime.onOrBefore": body["startTime"]}):
            if (_instant(absence.get("startTime")) == start
                    and _instant(absence.get("endTime")) == end):
                return str(absence.get("id") or "") or "found"
        return None

    def _finish(self, outbox_id: int, status: str, *, remote_id: str | None = None,
                error: str | None = None) -> str:
        with session_scope(self.engine) as session:
            row = session.get(ConnectorOutbox, outbox_id)
            assert row is not None
            row.status, row.remote_id, row.last_error = status, remote_id, error
            if status == "sent":
                row.sent_at = self.clock.now()
        return status

    def _retry(self, outbox_id: int, attempts: int, error: str) -> str:
        """Try again later (never given up: a report must reach the school)."""
        pause = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)
        with session_scope(self.engine) as session:
            row = session.get(ConnectorOutbox, outbox_id)
            assert row is not None
            row.not_before, row.last_error = self.clock.now() + pause, error[:200]
        log.warning("ss12000: report %s not written yet (%s); again in %s", outbox_id, error,
                    pause)
        return "retry"


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except (TypeError, ValueError):
        return None
