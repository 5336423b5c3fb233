"""Hostile CSV files through the real `narvaro … import` commands: a header over csv's
field limit is a `file:line` problem (exit 2, no traceback); thousands of bad rows print the
first 100 problems and a count of the rest; a file is read line by line, never whole."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.cli import main
from policy.attendance import parse_attendance
from policy.csvrows import MAX_LINE, MAX_PROBLEMS
from storage.models import Absence, CalendarPeriod, Person
from tests.rosters import GOOD_STUDENTS, STAFF, STUDENT_HEADER, write

ROLL_HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late"
CALENDAR_HEADER = "school,kind,name,start,end"
#: One header cell larger than csv's own field limit (128 KiB) and the line limit.
HUGE = "x" * (130 * 1024)

COMMANDS = {
    "students": lambda path: ["roster", "import", "--students", path],
    "staff": lambda path: ["roster", "import", "--staff", path],
    "attendance": lambda path: ["attendance", "import", path],
    "calendar": lambda path: ["calendar", "import", path],
}


@pytest.fixture
def roster(narvaro_env: dict[str, str], engine: Engine, tmp_path: Path) -> Engine:
    """A small roster on file (Ali N001, Sara N002, Emil N003), so roll call can name them."""
    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    return engine


@pytest.mark.parametrize("kind", list(COMMANDS))
@pytest.mark.parametrize("quoted", [False, True], ids=["long-line", "quoted-over-lines"])
def test_a_header_over_the_field_limit_is_a_problem_on_its_line(
    roster: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
    quoted: bool,
) -> None:
    """A 130 KiB header cell (on one line, or a quoted cell running over many short lines
    into csv's own 128 KiB limit): exit 2 and `file:line: …`, nothing imported."""
    cell = ('"' + "\n".join("y" * 1000 for _ in range(140)) + '"') if quoted else HUGE
    path = write(tmp_path, f"{kind}.csv", f"school,{cell}\nNorrskolan,x\n")
    capsys.readouterr()
    assert main(COMMANDS[kind](path)) == 2
    problems = capsys.readouterr().err.splitlines()
    assert problems[-1] == "1 problem(s): nothing was imported."
    [problem] = problems[:-1]
    if quoted:
        assert problem.startswith(f"{path}:") and "field larger than field limit" in problem
    else:
        assert problem.startswith(f"{path}:1: the line is longer than {MAX_LINE} bytes")


@pytest.mark.parametrize("kind", ["students", "attendance", "calendar"])
def test_many_bad_rows_stop_at_a_hundred_problems_and_count_the_rest(
    roster: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
) -> None:
    """250 bad rows: the first 100 problems, each with its line, then how many lines were
    left unchecked; exit 2 and nothing imported."""
    rows = {
        "students": (STUDENT_HEADER, "Norrskolan,7A,S{n},Elev {n},sv,,no,Vh {n},inget nummer,sv,"),
        "attendance": (ROLL_HEADER, "2026-11-23,X{n},absent,,,"),
        "calendar": (CALENDAR_HEADER, "Norrskolan,holiday,Lov {n},2026-10-26,2026-10-30"),
    }[kind]
    text = "\n".join([rows[0], *(rows[1].format(n=n) for n in range(250))]) + "\n"
    path = write(tmp_path, f"{kind}.csv", text)
    with Session(roster) as session:
        people = session.execute(select(func.count()).select_from(Person)).scalar()
    capsys.readouterr()
    assert main(COMMANDS[kind](path)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == MAX_PROBLEMS + 2
    # line 100 too ("file:100:" once came out as an emoji)
    assert [line.split(":")[1] for line in lines[:MAX_PROBLEMS]] == [
        str(n) for n in range(2, MAX_PROBLEMS + 2)]
    assert lines[-2:] == [f"Stopped after 100 problems: 150 more line(s) of {path} not checked.",
                          "100 problem(s): nothing was imported."]
    with Session(roster) as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar() == people
        assert session.execute(select(func.count()).select_from(Absence)).scalar() == 0
        assert session.execute(select(func.count()).select_from(CalendarPeriod)).scalar() == 0


class LinesOnly(io.RawIOBase):
    """A file that gives its lines one `readline` at a time and refuses to be read whole;
    it counts the most bytes asked for at once."""

    def __init__(self, header: str, row: str, rows: int) -> None:
        self.lines = iter([f"{header}\n".encode(),
                           *(f"{row.format(n=n)}\n".encode() for n in range(rows))])
        self.largest = 0

    def readable(self) -> bool:
        """It can be read."""
        return True

    def readline(self, size: int | None = -1) -> bytes:
        """The next line (`size` is the most the reader takes at once)."""
        self.largest = max(self.largest, size or -1)
        assert size is not None and size > 0, "the whole rest of the file was asked for"
        return next(self.lines, b"")

    def read(self, size: int = -1) -> bytes:
        """Never: a CSV file is read line by line."""
        raise AssertionError("the file was read whole")


def test_a_roll_call_file_is_read_a_line_at_a_time_and_stops_at_a_hundred_problems() -> None:
    """20,000 bad rows come from a stream of lines (never read whole, never more than one
    line's limit at once); 100 problems are kept, and the 19,900 lines after are counted."""
    stream = LinesOnly(ROLL_HEADER, "2026-11-23,X{n},absent,,,", 20_000)
    records, problems = parse_attendance(
        stream,  # type: ignore[arg-type]  # a stream of lines only: what the parser needs
        lambda school, sid: f"no student {sid}", today=date(2026, 11, 23),
        source="roll.csv")
    assert records == []
    assert (len(problems.items), problems.count, problems.untold) == (100, 100, 0)
    assert problems.items[0] == "roll.csv:2: no student X0"
    assert problems.unchecked == {"roll.csv": 19_900}
    assert stream.largest == MAX_LINE + 1
