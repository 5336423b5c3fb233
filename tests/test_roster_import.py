"""`narvaro roster import`: whole-file validation, E.164 phones, idempotent upserts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlmodel import Session, col

from bot.cli import main
from storage.models import Guardianship, MentorLink, Person, School, StaffRole, Student
from tests.rosters import GOOD_STUDENTS, STAFF, students, write

pytestmark = pytest.mark.postgresql

TABLES = (Person, Student, Guardianship, MentorLink, StaffRole, School)


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the roster tables, to prove a refused import changed nothing."""
    with Session(engine) as session:
        return {
            table.__name__: sorted(
                tuple(row) for row in session.execute(select(*inspect(table).local_table.columns))
            )
            for table in TABLES
        }


def guardian_ids(session: Session, student_id: str) -> list[int]:
    """Ids of the guardians linked to the student with the school's id `student_id`."""
    query = select(Student).where(col(Student.external_id) == student_id)
    student = session.execute(query).scalar_one()
    return list(
        session.execute(
            select(col(Guardianship.guardian_id)).where(
                col(Guardianship.student_id) == student.id)
        ).scalars()
    )


def run_import(tmp_path: Path, students_text: str | None, staff_text: str | None = STAFF) -> int:
    """Import the given files through the real command line."""
    argv = ["roster", "import"]
    if students_text is not None:
        argv += ["--students", write(tmp_path, "students.csv", students_text)]
    if staff_text is not None:
        argv += ["--staff", write(tmp_path, "staff.csv", staff_text)]
    return main(argv)


def test_import_normalises_phones_and_links_everyone(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    """A Swedish 070 number becomes +46…, guardians and mentors are linked."""
    assert run_import(tmp_path, GOOD_STUDENTS) == 0
    with Session(engine) as session:
        mona = session.execute(
            select(Person).where(col(Person.phone) == "+46701234567")).scalar_one()
        assert (mona.name, mona.language) == ("Mona Hassan", "ar")
        per = session.execute(
            select(Person).where(col(Person.phone) == "+4741234567")).scalar_one()
        assert per.language == "nb"
        assert len(guardian_ids(session, "N001")) == 2
        emil = session.execute(
            select(Student).where(col(Student.external_id) == "N003")).scalar_one()
        assert emil.adult
        assert session.get(Person, emil.person_id).phone == "+46701234570"  # type: ignore[union-attr]
        mentor_links = session.execute(select(func.count()).select_from(MentorLink)).scalar_one()
        assert mentor_links == 2
        school = session.execute(select(School)).scalar_one()
        assert (school.name, school.country) == ("Norrskolan", "SE")


def test_reimport_is_idempotent_and_updates(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same files twice change nothing; a changed file updates in place."""
    assert run_import(tmp_path, GOOD_STUDENTS) == 0
    before = snapshot(engine)
    capsys.readouterr()
    assert run_import(tmp_path, GOOD_STUDENTS) == 0
    assert "no changes" in capsys.readouterr().out
    assert snapshot(engine) == before

    changed = GOOD_STUDENTS.replace("Karim Hassan,0701234568,en", "Karim Hassan,0701234568,sv")
    changed = changed.replace("Norrskolan,7A,N002", "Norrskolan,8B,N002")
    # Mona is no longer Ali's guardian: the link goes, the person stays.
    changed = "\n".join(line for line in changed.splitlines() if "Mona" not in line) + "\n"
    assert run_import(tmp_path, changed) == 0
    with Session(engine) as session:
        karim = session.execute(
            select(Person).where(col(Person.phone) == "+46701234568")).scalar_one()
        assert karim.language == "sv"
        assert guardian_ids(session, "N001") == [karim.id]
    assert len(snapshot(engine)["Person"]) == len(before["Person"])


def test_bad_rows_refuse_the_whole_file(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad phone on line 7 and a missing student id on line 12: both named, nothing applied."""
    assert run_import(tmp_path, GOOD_STUDENTS) == 0
    before = snapshot(engine)
    rows = [
        f"Norrskolan,9C,M{n:03d},Elev {n},sv,,no,Förälder {n},070-200 00 {n:02d},sv,"
        for n in range(11)
    ]
    rows[5] = "Norrskolan,9C,M005,Elev 5,sv,,no,Förälder 5,070-12,sv,"  # line 7
    rows[10] = "Norrskolan,9C,,Elev 10,sv,,no,Förälder 10,070-200 00 10,sv,"  # line 12
    capsys.readouterr()
    assert run_import(tmp_path, students(*rows), None) == 2
    errors = capsys.readouterr().err.splitlines()
    assert any(e.endswith("students.csv:7: guardian_phone is not a valid phone number (for SE)")
               for e in errors)
    assert any(e.endswith("students.csv:12: student_id is empty") for e in errors)
    assert "nothing was imported" in errors[-1]
    assert "070-12" not in "\n".join(errors)
    assert snapshot(engine) == before


def test_semicolons_and_bom_are_read(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    """Excel's semicolon CSV with a byte-order mark imports like the comma one."""
    text = GOOD_STUDENTS.replace(",", ";")
    assert run_import(tmp_path, "\ufeff" + text, "\ufeff" + STAFF.replace(",", ";")) == 0
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Student)).scalar_one() == 3


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("Norrskolan,7A,200101011234,X,sv,,no,G,0701234567,sv,",
         "student_id looks like a national identity number"),
        ("Norrskolan,7A,N9,X,sv,,no,G,0701234567,sv,0709999999",
         "mentor_phone is not a staff member of this school"),
        ("Norrskolan,7A,N9,X,svenska,,no,G,0701234567,sv,", "student_language 'svenska'"),
        ("Norrskolan,7A,N9,X,sv,,kanske,G,0701234567,sv,", "student_adult 'kanske'"),
        ("Norrskolan,7A,N9,X,sv,,no,,,sv,", "guardian_phone is empty"),
        ("Norrskolan,7A,N9,X,sv,0701234567,no,G,0701234567,sv,",
         "guardian phone is the phone of a student"),
    ],
)
def test_each_kind_of_bad_row_is_explained(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], row: str, problem: str,
) -> None:
    """Every refusal says which line and what is wrong."""
    assert run_import(tmp_path, students(row)) == 2
    assert f"students.csv:2: {problem}" in capsys.readouterr().err


def test_missing_columns_and_non_utf8(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A header without required columns, and Latin-1 bytes, are refused with a reason."""
    assert run_import(tmp_path, "school,class\nA,B\n", None) == 2
    assert "students.csv:1: header lacks column(s) student_id" in capsys.readouterr().err
    path = tmp_path / "latin1.csv"
    path.write_bytes((GOOD_STUDENTS + "Norrskolan,7A,N7,Åsa,sv,,no,G,0701234599,sv,\n")
                     .encode("latin-1"))
    assert main(["roster", "import", "--students", str(path)]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


def test_a_large_import_leaves_postgresql_knowing_the_tables_sizes(
    narvaro_env: dict[str, str], engine: Engine, tmp_path: Path, database_url: str
) -> None:
    """After an import of a thousand new people, PostgreSQL's planner knows the person
    table's size at once (an import straight after the first one of a school then looks
    up its phones by index, not by a scan of every person for each thousand phones)."""
    rows = [f"Norrskolan,7A,N{n:04d},Elev {n},sv,,no,Förälder {n},070-9{n:06d},sv,"
            "070-111 22 33" for n in range(1_000)]
    assert run_import(tmp_path, students(*rows)) == 0
    with Session(engine) as session:
        people = session.execute(select(func.count()).select_from(Person)).scalar_one()
        if database_url.startswith("postgresql"):
            estimate = session.execute(select(text(
                "reltuples FROM pg_class WHERE relname = 'person'"))).scalar_one()
            assert estimate == people
    assert people == 2_002  # each student and guardian, the mentor and the principal
