"""The command line refuses nonsense in one line with what to do, exit code 2, no traceback;
and every command explains each of its options with an example."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.cli import main
from bot.cli_parser import build_parser
from storage.models import Person, School
from tests.conftest import POSTGRES_URL
from tests.rosters import GOOD_STUDENTS, STAFF, write

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"


@pytest.fixture
def roster(narvaro_env: dict[str, str], engine: Engine, tmp_path: Path) -> Engine:
    """A database holding the small test roster."""
    assert main(["roster", "import", "--students", write(tmp_path, "s.csv", GOOD_STUDENTS),
                 "--staff", write(tmp_path, "t.csv", STAFF)]) == 0
    return engine


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must be refused; its one line on stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        code = main(list(argv))
        raise SystemExit(code)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert exit_info.value.code == 2, captured
    assert len(lines) == 1, lines
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--timezone", "Mars/Olympus", "not a known time zone"),
    ("--country", "XX", "not a country code"),
    ("--language", "klingon", "not a language"),
    ("--phone", "hello", "not a phone number"),
])
def test_school_set_refuses_nonsense(
    roster: Engine, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str,
) -> None:
    """A time zone, country, language or phone that the bot could not use is refused, and the
    school is left as it was."""
    line = refused(capsys, "school", "set", "Norrskolan", option, value)
    assert expected in line and option in line
    with Session(roster) as session:
        school = session.exec(select(School).where(School.name == "Norrskolan")).one()
        assert (school.timezone, school.country, school.language, school.phone) == (
            "Europe/Stockholm", "SE", "sv", None)


def test_school_set_stores_values_as_the_bot_reads_them(
    roster: Engine, capsys: pytest.CaptureFixture[str],
) -> None:
    """A phone as guardians dial it is stored in E.164; "no" is Norwegian Bokmål."""
    assert main(["school", "set", "Norrskolan", "--country", "no", "--timezone", "Europe/Oslo",
                 "--language", "no", "--phone", "77 71 50 00"]) == 0
    with Session(roster) as session:
        school = session.exec(select(School).where(School.name == "Norrskolan")).one()
        assert (school.timezone, school.country, school.language, school.phone) == (
            "Europe/Oslo", "NO", "nb", "+4777715000")


DATABASES = [("sqlite:////nonexistent-folder/narvaro.db", "folder of the SQLite file")] + (
    [(make_url(POSTGRES_URL).set(username="narvaro_nobody").render_as_string(),
      "createuser narvaro_nobody")] if POSTGRES_URL else [])


# Named by backend, not by URL: each xdist worker has a database of its own, and every
# worker must collect the same tests.
@pytest.mark.parametrize(("url", "advice"), DATABASES,
                         ids=["sqlite-file", "postgresql-role"][:len(DATABASES)])
def test_a_database_that_cannot_be_opened_is_one_line(
    narvaro_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], url: str, advice: str,
) -> None:
    """A missing folder (SQLite) or a missing role (PostgreSQL): what, where, what to do."""
    monkeypatch.setenv("NARVARO_DATABASE_URL", url)
    line = refused(capsys, "absences", "list")
    assert line.startswith("narvaro: cannot open the database")
    assert advice in line


def test_a_port_in_use_is_said_before_anything_is_loaded(
    narvaro_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`narvaro run` on a busy port names the setting that changes it, and loads no demo."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("NARVARO_HTTP_PORT", str(port))
        line = refused(capsys, "run")
    assert f"port {port}" in line and "NARVARO_HTTP_PORT" in line
    with Session(engine) as session:
        assert session.exec(select(Person)).first() is None


@pytest.mark.parametrize(("argv", "expected"), [
    (["absences", "list", "--date", "2026-13-01"], "not a date"),
    (["absences", "list", "--state", "lost"], "invalid choice"),
    (["tasks", "list", "--status", "finished"], "invalid choice"),
    (["outbox", "list", "--status", "gone"], "invalid choice"),
    (["tick", "--now", "tomorrow"], "not an ISO 8601 instant"),
    (["review", "--school", "Norrskolan", "--month", "2026-13"], "not a month"),
    (["report", "absences", "--school", "Norrskolan", "--from", "2026-11-30", "--to",
      "2026-11-01"], "is before --from"),
])
def test_bad_arguments_are_one_line(
    roster: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str,
) -> None:
    """A bad date, status, instant, month or an upside-down period: one line, exit 2."""
    assert expected in refused(capsys, *argv)


def test_roll_call_on_a_day_without_school_says_so(
    roster: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Saturday 21 November is not a school day: the file is refused with the reason."""
    path = write(tmp_path, "a.csv", HEADER + "2026-11-21,N001,absent,,,\n")
    capsys.readouterr()
    assert main(["attendance", "import", path]) == 2
    err = capsys.readouterr().err
    assert "a.csv:2: 2026-11-21 is not a school day at Norrskolan (Saturday)" in err
    assert main(["absences", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_commands(child))
    return found


def test_every_command_explains_its_options_with_an_example() -> None:
    """Each command that runs has an example; each of its options a sentence."""
    runnable = [p for p in _commands(build_parser()) if p.get_default("handler")]
    assert len(runnable) >= 25
    for parser in runnable:
        assert parser.epilog and "narvaro " in parser.epilog, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{parser.prog} {action.option_strings or action.dest}"
