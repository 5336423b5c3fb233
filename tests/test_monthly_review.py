"""The monthly review for a school's leadership (seed 004: "the school's leadership reviews
all absence every month"): figures by class and by week, reported against unexcused, the
steps, the tasks; a picture for a phone; Rut, the principal, gets it on the first school day
of December, once.

Norrskolan's 7A has five students, 8B one (Vera). In November (21 school days), Noor was away
two whole days unreported, Emil one day reported, Ali one lesson of an hour unreported.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from storage.models import Person
from tests.rosters import write
from tests.test_ladder_concern import db as db  # the transcript roster; Rut is principal
from tests.test_return_plans import answer, tick, to

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
RUT = "+46701112234"


@pytest.fixture
def november(db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """November's roll call, with Emil's day reported by his mother."""
    receipt = answer(db, "+4520123404", "Emil er syg i dag", "2026-11-26T07:30:00+01:00")
    assert receipt.text.startswith("Registreret: Emil")  # recorded from the one text
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-30T16:00:00+01:00")
    assert main(["attendance", "import", write(tmp_path, "november.csv", HEADER
                 + "2026-11-24,N003,absent,,,\n2026-11-25,N003,absent,,,\n"
                 + "2026-11-26,N004,absent,,,\n2026-11-27,N001,absent,09:00,10:00,\n")]) == 0
    tick("2026-11-30T16:05:00+01:00")
    return db


def test_the_figures_and_the_picture(
    november: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By class: 7A's 2 unexcused days and an hour over 5 × 21 student-days; by week; the
    picture is a phone-wide PNG."""
    capsys.readouterr()
    picture = tmp_path / "review.png"
    assert main(["review", "--school", "Norrskolan", "--month", "2026-11", "--json",
                 "--png", str(picture)]) == 0
    figures = json.loads(capsys.readouterr().out)
    # granted leave is apart (none this month)
    assert figures["by_class"]["7A"] == {"reported": 1.0, "unexcused": 2.1, "leave": 0.0}
    assert figures["by_class"]["8B"] == {"reported": 0.0, "unexcused": 0.0, "leave": 0.0}
    assert figures["by_week"]["2026-W48"] == {"reported": 3.3, "unexcused": 7.2, "leave": 0.0}
    assert figures["steps"] == {"s1": 2}  # Ljusnarsberg: a first unexcused occasion
    png = picture.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1080 and height > width
    assert main(["review", "--school", "Norrskolan", "--month", "2026-11"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[:3] == ["Månadsöversikt, Norrskolan: november 2026",
                        "Mest frånvaro: 7A 3.1 %, 8B 0 %", "På ett steg i planen: s1: 2"]
    assert main(["review", "--school", "Ingen", "--month", "2026-11"]) == 2
    assert main(["review", "--school", "Norrskolan", "--month", "november"]) == 2


def test_the_principal_gets_it_on_the_first_school_day(november: Engine) -> None:
    """Tuesday 1 December at 08:00, once; Anna (a mentor) gets none."""
    tick("2026-12-01T07:59:00+01:00")
    assert to(november, RUT, "review:") == []
    tick("2026-12-01T08:00:30+01:00")
    tick("2026-12-01T09:00:00+01:00")
    tick("2026-12-02T08:00:30+01:00")
    [review] = to(november, RUT, "review:")
    assert review.text.startswith("Månadsöversikt, Norrskolan: november 2026\n")
    chart = (review.attachment or {})["chart"]  # a picture where the channel shows one
    assert chart["panels"][0]["labels"] == ["7A", "8B"]
    assert to(november, "+46701112233", "review:") == []


def test_the_exports_for_a_period_and_for_csn(
    november: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report absences` lists the period's records of a class (no reasons); `report csn`
    the month's unapproved absence per student; a name that looks like a formula (imports
    refuse them now; one stored before, say) comes out as text."""
    with Session(november) as session:
        noor = session.exec(select(Person).where(Person.name == "Noor Berg")).one()
        noor.name = "=HYPERLINK(1)|Noor"
        session.add(noor)
        session.commit()
    capsys.readouterr()
    assert main(["report", "absences", "--school", "Norrskolan", "--class", "7A",
                 "--from", "2026-11-01", "--to", "2026-11-30"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "date,student_id,student_name,class,slot,kind,state,minutes_late",
        "2026-11-24,N003,'=HYPERLINK(1)|Noor,7A,day,absent,unexcused,",
        "2026-11-25,N003,'=HYPERLINK(1)|Noor,7A,day,absent,unexcused,",
        "2026-11-26,N004,Emil Holm,7A,day,absent,reported,",
        "2026-11-27,N001,Ali Hassan,7A,09:00,absent,unexcused,"]
    assert main(["report", "csn", "--school", "Norrskolan", "--month", "2026-11"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "student_id,student_name,class,unapproved_occasions,unapproved_days,dates",
        "N003,'=HYPERLINK(1)|Noor,7A,2,2.0,2026-11-24 2026-11-25",
        "N001,Ali Hassan,7A,1,0.17,2026-11-27"]
    assert main(["report", "csn", "--school", "Norrskolan", "--month", "11/2026"]) == 2

