"""The core commands of `narvaro`: roster, roll call, calendar, school settings, tick,
concerns and the lists (their arguments are in bot/cli_parser.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from sqlmodel import select

from bot.context import Context
from locales import LANGUAGES, canonical
from policy.attendance import parse_attendance
from policy.calendar import DateRange
from policy.csvrows import Problems, read_rows
from policy.notices import setting_problem
from policy.presets import PRESETS
from policy.roster import parse_roster
from policy.school_settings import (
    country_problem,
    language_problem,
    school_phone,
    timezone_problem,
)
from storage.attendance import (
    apply_attendance,
    closed_days,
    resolve_student,
    student_resolver,
)
from storage.audit import audit
from storage.concerns import close_concern, raise_concern
from storage.db import session_scope
from storage.models import School, Student
from storage.outbox import settle_maybe_sent
from storage.privacy import RETENTION_SETTING
from storage.roster import apply_roster, staff_phones
from storage.schools import ensure_school, school_calendar, set_period, unreadable_policies

EXIT_INVALID = 2
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _open(files: contextlib.ExitStack, path: str | None) -> BinaryIO | None:
    """The file at `path`, open for reading as bytes (closed with `files`), read as it is
    validated: a file of millions of rows is never held whole."""
    if path is None:
        return None
    try:
        return files.enter_context(Path(path).open("rb"))
    except OSError as error:
        raise SystemExit(_fail(f"{path}: cannot read ({error.strerror})")) from None


def _fail(message: str) -> int:
    err.print(message, markup=False)
    return EXIT_INVALID


def _refuse(problems: Problems) -> int:
    for item in problems.items:
        err.print(item, markup=False)
    if problems.untold:
        err.print(f"… and {problems.untold} more problem(s) not shown.", markup=False)
    for source, lines in problems.unchecked.items():
        err.print(f"Stopped after {problems.limit} problems: {lines} more line(s) of "
                  f"{source} not checked.", markup=False)
    err.print(f"{problems.count} problem(s): nothing was imported.", markup=False)
    return EXIT_INVALID


def _progress() -> tuple[Progress, Callable[[str, int, int], None]]:
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        console=err, transient=True, disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total)
        progress.update(tasks[phase], completed=done, total=total)

    return progress, update


def cmd_roster_import(context: Context, args: argparse.Namespace) -> int:
    """Validate both roster files whole, then upsert them in one transaction."""
    if not args.students and not args.staff:
        return _fail("give --students FILE and/or --staff FILE")
    progress, update = _progress()
    with contextlib.ExitStack() as files, progress, session_scope(context.engine) as session:
        students, staff = _open(files, args.students), _open(files, args.staff)
        countries = {
            school.name: school.country for school in session.exec(select(School)).all()
        }
        staff_cache: dict[str, set[str]] = {}

        def known_staff(school: str, phone: str) -> bool:
            if school not in staff_cache:
                staff_cache[school] = staff_phones(session, school)
            return phone in staff_cache[school]

        roster, problems = parse_roster(
            students, staff, lambda school: countries.get(school, context.policy.country),
            known_staff=known_staff,
            students_name=args.students or "students.csv", staff_name=args.staff or "staff.csv",
        )
        if problems:
            return _refuse(problems)
        counts = apply_roster(
            session, roster, now=context.clock.now(), default_policy=context.policy,
            timezone=context.settings.timezone, progress=update,
        ).counts
    changes = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    out.print(f"Imported: {changes or 'no changes'}", markup=False)
    return 0


def cmd_attendance_import(context: Context, args: argparse.Namespace) -> int:
    """Validate a roll-call file whole, then record it."""
    with contextlib.ExitStack() as files, session_scope(context.engine) as session:
        data = _open(files, args.file)
        assert data is not None
        students = student_resolver(session)
        today = context.clock.now().astimezone(context.settings.zone).date()
        records, problems = parse_attendance(
            data, lambda school, sid: resolve_student(students, school, sid), today=today,
            source=args.file, closed=closed_days(session),
        )
        if problems:
            return _refuse(problems)
        counts = apply_attendance(session, records, now=context.clock.now(), source="import")
    out.print("Recorded: " + ", ".join(f"{k} {v}" for k, v in counts.items()), markup=False)
    return 0


def cmd_calendar_import(context: Context, args: argparse.Namespace) -> int:
    """Import terms, breaks and events: `school,kind,name,start,end` (kind term, break, exam,
    tests or event; events weigh in leave decisions and are no days off)."""
    problems = Problems()
    rows: list[tuple[str, str, str, DateRange]] = []
    with contextlib.ExitStack() as files:
        data = _open(files, args.file)
        assert data is not None
        columns = ("school", "kind", "name", "start", "end")
        for line, row in read_rows(data, args.file, columns, columns, problems):
            if row["kind"] not in {"term", "break", "exam", "tests", "event"}:
                problems.add(args.file, line, f"kind '{row['kind']}' is not term, break, "
                             "exam, tests or event")
                continue
            try:
                period = DateRange(
                    date.fromisoformat(row["start"]), date.fromisoformat(row["end"]), row["name"]
                )
            except ValueError as error:
                problems.add(args.file, line, f"start/end: {error}")
                continue
            if not row["school"]:
                problems.add(args.file, line, "school is empty")
                continue
            rows.append((row["school"], row["kind"], row["name"], period))
    if problems:
        return _refuse(problems)
    with session_scope(context.engine) as session:
        for school_name, kind, name, period in rows:
            school = ensure_school(session, school_name, policy=context.policy,
                                   timezone=context.settings.timezone, now=context.clock.now())
            set_period(session, school, kind=kind, name=name, start=period.start, end=period.end)
        audit(session, at=context.clock.now(), actor="cli", action="calendar.import",
              entity="calendar_period", periods=len(rows))
    out.print(f"Recorded {len(rows)} calendar period(s).", markup=False)
    return 0


def _school_values(args: argparse.Namespace, country: str) -> tuple[dict[str, str], str | None]:
    """The school settings given, checked and in their stored form, or the first problem."""
    values: dict[str, str] = {}
    if args.country:
        values["country"] = args.country.strip().upper()
        if problem := country_problem(values["country"]):
            return {}, f"--country {problem}"
    if args.timezone:
        values["timezone"] = args.timezone.strip()
        if problem := timezone_problem(values["timezone"]):
            return {}, f"--timezone {problem}"
    if args.language:
        values["language"] = canonical(args.language.strip())
        if problem := language_problem(values["language"], LANGUAGES):
            return {}, f"--language {problem}"
    if args.phone:
        phone = school_phone(args.phone, values.get("country", country))
        if phone is None:
            return {}, (f"--phone {args.phone!r} is not a phone number (in "
                        f"{values.get('country', country)}); write it as guardians dial it, "
                        "e.g. 0590-123 45 or +46590 12345")
        values["phone"] = phone
    return values, None


#: Said by `school set` of a school that has imported no terms (`run` logs it too).
TERMS_MISSING = ("Warning: {school} has no terms imported: its counts use the default "
                 "{country} school year (README: \"A school year without terms\"). "
                 "Import them: narvaro calendar import FILE")


def cmd_school_set(context: Context, args: argparse.Namespace) -> int:
    """Create or change a school's country, time zone, language, phone or policy."""
    with session_scope(context.engine) as session:
        school = ensure_school(session, args.name, policy=context.policy,
                               timezone=context.settings.timezone, now=context.clock.now())
        if args.policy:
            if args.policy not in PRESETS:
                return _fail(f"--policy must be one of {', '.join(sorted(PRESETS))}")
            school.policy = args.policy
        values, problem = _school_values(args, school.country)
        if problem:
            return _fail(problem)
        for field, value in values.items():
            setattr(school, field, value)
        notices = dict(school.settings.get("notices", {}))
        for setting in args.notice or []:
            key, _, value = setting.partition("=")
            problem = setting_problem(key, value)
            if problem:
                return _fail(f"--notice {setting}: {problem}")
            notices[key] = value
        if notices:
            school.settings = {**school.settings, "notices": notices}
        if args.note_retention_days is not None:
            if args.note_retention_days < 0:
                return _fail("--note-retention-days must be 0 or more")
            school.settings = {**school.settings,
                               RETENTION_SETTING: args.note_retention_days}
        session.add(school)
        changed = sorted(name for name in ("country", "timezone", "language", "phone", "policy",
                                           "notice", "note_retention_days")
                         if getattr(args, name) not in (None, [], ""))
        audit(session, at=context.clock.now(), actor="cli", action="school.set",
              entity="school", entity_id=school.id, changed=changed)
        out.print(f"{school.name}: {school.country}, {school.timezone}, {school.language}, "
                  f"policy {school.policy}", markup=False)
        session.flush()
        if not school_calendar(session, school).terms:
            out.print(TERMS_MISSING.format(school=school.name, country=school.country),
                      markup=False)
    return 0


def cmd_tick(context: Context, args: argparse.Namespace) -> int:
    """Run every due job once as of `--now` (or the clock), send what is due, exit."""
    from bot.app import configured_channels, sending_channels
    from bot.dispatcher import Dispatcher
    from scheduler.sweeps import run_sweeps

    if args.now:
        instant = args.now
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=context.settings.zone)
        context.clock.set(instant)
    done = run_sweeps(context.engine, context.clock.now())
    with session_scope(context.engine) as session:
        for problem in unreadable_policies(session):
            sys.stderr.write(f"{problem}: skipped by the sweeps\n")

    async def send() -> tuple[int, int]:
        async with sending_channels(context) as channels:
            dispatcher = Dispatcher(context.engine, context.clock, channels,
                                    worker=context.settings.worker,
                                    configured=configured_channels(context.settings))
            sent = await dispatcher.dispatch_once()
            return sent, sum(len(ids) for ids in dispatcher.waiting.values())

    sent, waiting = asyncio.run(send())
    summary = {"now": context.clock.now().isoformat(), "sweeps": done, "sent": sent,
               "waiting": waiting}
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def cmd_concern(context: Context, args: argparse.Namespace) -> int:
    """`concern raise|close --student ID`: staff's concern about a student, which moves the
    plans that wait on it."""
    with session_scope(context.engine) as session:
        student = session.execute(
            select(Student).where(Student.external_id == args.student)).scalars().first()
        if student is None:
            return _fail(f"no student with id {args.student!r}")
        change = raise_concern if args.action == "raise" else close_concern
        changed = change(session, student.id or 0, by=None, now=context.clock.now())
    state = "open" if args.action == "raise" else "closed"
    sys.stdout.write(f"Concern {state}{'' if changed else ' (no change)'}.\n")
    return 0


def cmd_settle(context: Context, args: argparse.Namespace) -> int:
    """`outbox settle ID --arrived|--not-arrived`: a person's word on a maybe_sent message."""
    with session_scope(context.engine) as session:
        if not settle_maybe_sent(session, args.id, arrived=args.arrived,
                                 now=context.clock.now()):
            return _fail(f"outbox message {args.id} is not maybe_sent")
    sys.stdout.write("Marked as sent.\n" if args.arrived else "It will be sent again.\n")
    return 0
