"""Someone no school is known for lives in the installation's own time zone (the zone its
schools keep), never in a fixed Stockholm or in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from storage.models import School
from storage.schools import installation_zone
from tests.transcript import House

STRANGER = "+4791234599"


def _all_schools_in(house: House, zone: str, country: str) -> None:
    with Session(house.engine) as session:
        session.execute(update(School).values(timezone=zone, country=country))
        session.commit()


# Oslo keeps Stockholm's offset, so only a zone with another offset (the Faroe Islands,
# Danish) catches a Stockholm fallback; Oslo catches one to UTC.
@pytest.mark.parametrize(("zone", "country", "times"), [
    ("Europe/Oslo", "NO", ("2026-11-23T22:30:00+00:00", "2026-11-23T23:30:00+00:00",
                           "2026-11-24T00:30:00+00:00")),
    ("Atlantic/Faroe", "DK", ("2026-11-23T23:30:00+00:00", "2026-11-24T00:30:00+00:00",
                              "2026-11-24T01:30:00+00:00")),
])
def test_a_stranger_is_answered_once_a_day_of_the_installations_zone(
    house: House, zone: str, country: str, times: tuple[str, str, str]
) -> None:
    """A number not in the roster is answered once a local day: a text at 23:30 and another
    at 00:30 local time (both Monday in UTC, or both Tuesday) are two days."""
    _all_schools_in(house, zone, country)
    stranger = house.sms(STRANGER)
    evening, after_midnight, later = times
    house.at(evening)
    stranger.write("Hei, Noor er syk")
    assert len(stranger.unread()) == 1
    house.at(after_midnight)
    stranger.write("Hallo?")
    assert len(stranger.unread()) == 2  # a new day where the schools are
    house.at(later)
    stranger.write("Hallo??")
    assert len(stranger.unread()) == 2  # the same day: silence


def test_the_installation_zone_is_the_one_most_schools_keep(engine: Engine) -> None:
    """No schools: UTC; otherwise the most common zone, the first school's on a tie."""
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    with Session(engine) as session:
        assert installation_zone(session).key == "UTC"
        for name, zone in [("A", "Europe/Copenhagen"), ("B", "Europe/Oslo"),
                           ("C", "Europe/Oslo")]:
            session.add(School(name=name, country="NO", language="nb", timezone=zone,
                               policy="norway-example", created_at=now))
            session.flush()
        assert installation_zone(session).key == "Europe/Oslo"
        session.add(School(name="D", country="DK", language="da",
                           timezone="Europe/Copenhagen", policy="norway-example",
                           created_at=now))
        session.flush()
        assert installation_zone(session).key == "Europe/Copenhagen"
