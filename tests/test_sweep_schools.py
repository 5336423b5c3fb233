"""A sweep sees each school once: its zone, local time, calendar and rules. A school whose
policy cannot be read is an error that says so: logged with its id, skipped by the sweeps
(never run on another school's plan), named by `narvaro tick`; once readable again, the
next sweep does what is due. And an outbox row says what it is about in its columns."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.cli import main
from scheduler.schools import each_school
from storage.db import alembic_config, make_engine, session_scope
from storage.models import OutboxMessage, School, StaffTask, Student
from storage.outbox import MessageKind
from storage.schools import PolicyUnreadable, policy_of, unreadable_policies
from tests.rosters import write
from tests.telegram_harness import import_roster

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm, 10:00 in Oslo


def add_school(engine: Engine, name: str, policy: str, timezone: str) -> int:
    """A school with no one in it yet."""
    with session_scope(engine) as session:
        school = School(name=name, country="SE", timezone=timezone, language="sv",
                        policy=policy, created_at=NOW)
        session.add(school)
        session.flush()
        return school.id or 0


def test_each_school_gives_its_zone_time_calendar_and_rules_and_skips_an_unreadable_one(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('base = "lyngen"\n[notices]\nfirst_lesson = "08:30"\n', encoding="utf-8")
    norr = add_school(engine, "Norrskolan", "ljusnarsberg", "Europe/Stockholm")
    broken = add_school(engine, "Gone", str(tmp_path / "gone.toml"), "Europe/Stockholm")
    fjell = add_school(engine, "Fjellskolen", str(plan), "Europe/Oslo")
    with caplog.at_level(logging.ERROR), session_scope(engine) as session:
        found = list(each_school(session, NOW))
        assert [s.id for s in found] == [norr, fjell]
        first, second = found
        assert (first.today, first.clock) == (date(2026, 11, 23), time(10, 0))
        assert (first.policy.name, first.rules.first_lesson) == ("ljusnarsberg", time(8, 15))
        assert (second.policy.country, second.rules.first_lesson) == ("NO", time(8, 30))
        assert str(second.zone) == "Europe/Oslo" and second.calendar.country == "SE"
        assert second.at(second.today, time(8, 0)) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
        assert [problem.school_id for problem in unreadable_policies(session)] == [broken]
        with pytest.raises(PolicyUnreadable, match=f"school {broken}: its policy"):
            policy_of(session.get(School, broken))
    assert [r.getMessage() for r in caplog.records if r.name == "scheduler.schools"] == [
        f"skipped: school {broken}: its policy '{tmp_path / 'gone.toml'}' cannot be read: "
        f"[Errno 2] No such file or directory: '{tmp_path / 'gone.toml'}'"]


def test_a_school_whose_policy_cannot_be_read_gets_no_notices_until_it_can(
    narvaro_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Norrskolan's policy is its own file, gone on Monday morning: the tick says so and
    tells nobody anything (not on Ljusnarsberg's rules either). The file is back: the next
    tick sends the notice."""
    import_roster(tmp_path)
    plan = tmp_path / "norrskolan.toml"  # a path of its own: a policy read once is kept
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            school = session.exec(select(School).where(School.name == "Norrskolan")).one()
            school.policy, school_id = str(plan), school.id
        roll = write(tmp_path, "roll.csv", "date,student_id,status,lesson_start,lesson_end,"
                     "minutes_late\n2026-11-23,N003,absent,,,\n")
        assert main(["attendance", "import", roll]) == 0
        capsys.readouterr()
        with caplog.at_level(logging.ERROR):
            assert main(["tick", "--now", "2026-11-23T09:00:00+01:00"]) == 0
        with Session(engine) as session:
            assert session.exec(select(OutboxMessage)).all() == []
        warned = capsys.readouterr().err
        assert f"school {school_id}: its policy '{plan}' cannot be read" in warned
        assert "skipped by the sweeps" in warned
        assert f"skipped: school {school_id}: its policy" in caplog.text
        plan.write_text('base = "ljusnarsberg"\n', encoding="utf-8")
        assert main(["tick", "--now", "2026-11-23T09:01:00+01:00"]) == 0
        with Session(engine) as session:
            kinds = sorted(m.kind or "" for m in session.exec(select(OutboxMessage)))
        assert kinds == ["call_prompt", "notice"]
        assert "cannot be read" not in capsys.readouterr().err
    finally:
        engine.dispose()


def test_an_outbox_row_says_what_it_is_about(
    narvaro_env: dict[str, str], tmp_path: Path
) -> None:
    """The notice names its student and day; the call prompt its task too; news without a
    student (the mentor's summary) only its kind and day."""
    import_roster(tmp_path)
    roll = write(tmp_path, "roll.csv", "date,student_id,status,lesson_start,lesson_end,"
                 "minutes_late\n2026-11-23,N003,absent,,,\n")
    assert main(["attendance", "import", roll]) == 0
    assert main(["tick", "--now", "2026-11-23T09:00:00+01:00"]) == 0
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    try:
        with Session(engine) as session:
            noor = session.exec(select(Student).where(Student.external_id == "N003")).one()
            [call] = session.exec(select(StaffTask).where(StaffTask.kind == "call_home"))
            about = {(m.kind, m.student_id, m.day, m.task_id)
                     for m in session.exec(select(OutboxMessage))}
        monday = date(2026, 11, 23)
        assert (MessageKind.NOTICE, noor.id, monday, None) in about
        assert (MessageKind.CALL_PROMPT, noor.id, monday, call.id) in about
        assert all(kind for kind, *_ in about)
    finally:
        engine.dispose()


def test_the_migration_fills_in_what_queued_notices_and_prompts_are_about(
    blank_database_url: str,
) -> None:
    """Rows queued before revision 0018 had only their keys: the upgrade reads them once."""
    engine = make_engine(blank_database_url)
    try:
        command.upgrade(alembic_config(engine), "0012")
        with engine.begin() as db:
            db.execute(text(
                "INSERT INTO school (id, name, country, timezone, language, policy, settings, "
                "created_at) VALUES (1, 'S', 'SE', 'Europe/Stockholm', 'sv', 'ljusnarsberg', "
                "'{}', :now)"), {"now": NOW})
            db.execute(text("INSERT INTO person (id, name, language, created_at, updated_at) "
                            "VALUES (1, 'M', 'sv', :now, :now)"), {"now": NOW})
            db.execute(text(
                "INSERT INTO staff_task (id, dedupe_key, school_id, assignee_id, kind, status, "
                "due_at, created_at) VALUES (7, 'call-home:5:2026-11-20:1', 1, 1, "
                "'call_home', 'open', :now, :now)"), {"now": NOW})
            for ident, key in ((1, "absence-notice:5:2026-11-20:1"),
                               (2, "call-home:5:2026-11-20:1"),
                               (3, "call-home:5:2026-11-20:1:again:2026-11-20T12:00:00"),
                               (4, "plan-morning:3:2026-11-20"), (5, "absence-notice:bad")):
                db.execute(text(
                    "INSERT INTO outbox_message (id, dedupe_key, recipient_id, channel, "
                    "language, text, status, attempts, not_before, created_at, priority) "
                    "VALUES (:id, :key, 1, 'auto', 'sv', 't', 'pending', 0, :now, :now, 1)"),
                    {"id": ident, "key": key, "now": NOW})
        command.upgrade(alembic_config(engine), "head")
        with Session(engine) as session:
            rows = {m.id: (m.kind, m.student_id, m.day, m.task_id)
                    for m in session.exec(select(OutboxMessage))}
        friday = date(2026, 11, 20)
        assert rows == {1: ("notice", 5, friday, None), 2: ("call_prompt", 5, friday, 7),
                        3: ("call_prompt", 5, friday, 7), 4: (None, None, None, None),
                        5: (None, None, None, None)}
    finally:
        engine.dispose()
