"""The overview's school-system section: the last successful sync, the last error and the
reports waiting, for principals and coordinators (no personal data)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.overview import _school_systems
from storage.models import ConnectorState


def test_the_school_system_section(engine: Engine) -> None:
    """Nothing without a connector; with one, its last sync in the school's time, its error,
    its report queue, in the reader's language."""
    with Session(engine) as session:
        assert _school_systems(session, "sv", "Europe/Stockholm") == ""
        session.add(ConnectorState(
            name="ss12000", last_success_at=datetime(2026, 11, 23, 7, 5, tzinfo=UTC),
            last_attempt_at=datetime(2026, 11, 23, 7, 10, tzinfo=UTC),
            last_error="503 from /persons"))
        session.commit()
        shown = _school_systems(session, "sv", "Europe/Stockholm")
    assert "<h2>Skolans system</h2>" in shown
    assert "SS12000" in shown and "Senaste lyckade synk: 2026-11-23 08:05" in shown
    assert "Senaste fel: 503 from /persons" in shown
    assert "skrivas tillbaka: 0; misslyckade: 0" in shown
