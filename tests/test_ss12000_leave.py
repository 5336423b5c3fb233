"""Granted leave back to the SS 12000 server as `Beviljad ledighet`: one Absence per granted
day (a refused day is not written), once, through the real HTTP client against the fake
server. SS 12000 has no application or decision: only what was granted goes back.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from services.leave import settle
from storage.db import session_scope
from storage.leave import create_application
from storage.models import ConnectorOutbox, Person, Student
from tests.fakes.ss12000_api import FakeSS12000
from tests.fakes.ss12000_data import Dataset
from tests.test_ss12000_reports import data, db, server  # noqa: F401  (the fixtures)
from tests.test_ss12000_sync import NOW, mobile

DAYS = (date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27))


def test_granted_days_are_written_back_as_beviljad_ledighet(
    db: Engine, server: FakeSS12000, data: Dataset  # noqa: F811
) -> None:
    """Three days applied, two granted, one refused: two Absences of type `Beviljad
    ledighet`, whole days in the school's time; a second sync writes nothing more."""
    student_id = data.students[3]
    guardian = data.guardians(student_id)[0]
    now = datetime.fromisoformat(NOW)
    with session_scope(db) as session:
        student = session.exec(select(Student).where(Student.external_id == student_id)).one()
        person = session.exec(select(Person).where(Person.phone == mobile(guardian))).one()
        application = create_application(
            session, student=student, applicant=person, channel="sms", days=list(DAYS),
            part_start=None, part_end=None, note="Bröllop", now=now)
        settle(session, application, granted=[DAYS[0], DAYS[2]], refused=[DAYS[1]], by=None,
               refusal="exam", refusal_note=None, now=now)
    with Session(db) as session:
        assert [row.status for row in session.exec(select(ConnectorOutbox))] == [
            "pending", "pending"]
    assert main(["sync", "ss12000"]) == 0
    written = sorted(server.absences(), key=lambda absence: absence["startTime"])
    assert [w["type"] for w in written] == ["Beviljad ledighet"] * 2
    assert [w["startTime"] for w in written] == ["2026-11-25T00:00:00+01:00",
                                                 "2026-11-27T00:00:00+01:00"]
    assert written[0]["endTime"] == "2026-11-25T23:59:59+01:00"
    assert all(w["student"] == {"id": student_id} for w in written)
    assert all(w["organisation"] == {"id": data.unit_of[student_id]} for w in written)
    assert all("Bröllop" not in str(w) for w in written)
    assert main(["sync", "ss12000"]) == 0
    assert len(server.absences()) == 2
    with Session(db) as session:
        assert [row.status for row in session.exec(select(ConnectorOutbox))] == [
            "sent", "sent"]
