"""The `narvaro` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlmodel import Session, select
from telegram.error import TelegramError

from bot.app import Context, build_context, configured_channels, sending_channels, serve
from bot.cli_action_plan import add_parser as add_action_plan_parser
from bot.cli_case import add_parser as add_caselog_parser
from bot.cli_data import add_parser as add_data_parser
from bot.cli_plan import add_parser as add_plan_parser
from bot.cli_reports import add_parser as add_report_parser
from bot.cli_review import add_parser as add_review_parser
from bot.dispatcher import Dispatcher
from bot.logs import quiet_libraries
from bot.settings import SettingsError, load_settings
from policy.attendance import parse_attendance
from policy.calendar import DateRange
from policy.csvrows import Problems, decode, read_rows
from policy.notices import setting_problem
from policy.presets import PRESETS
from policy.roster import parse_roster
from scheduler.sweeps import run_sweeps
from storage.attendance import apply_attendance, resolve_student, student_resolver
from storage.audit import audit
from storage.concerns import close_concern, raise_concern
from storage.db import session_scope
from storage.models import School, Student
from storage.outbox import settle_maybe_sent
from storage.privacy import RETENTION_SETTING
from storage.queries import list_absences, list_outbox, list_tasks
from storage.roster import apply_roster, staff_phones
from storage.schools import ensure_school, set_period

EXIT_INVALID = 2
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SystemExit(_fail(f"{path}: cannot read ({error.strerror})")) from None


def _fail(message: str) -> int:
    err.print(message, markup=False)
    return EXIT_INVALID


def _refuse(problems: Problems) -> int:
    for item in problems.items:
        err.print(item, markup=False)
    err.print(f"{len(problems.items)} problem(s): nothing was imported.", markup=False)
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
    students, staff = _read(args.students), _read(args.staff)
    progress, update = _progress()
    with progress, session_scope(context.engine) as session:
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
    data = _read(args.file)
    assert data is not None
    with session_scope(context.engine) as session:
        students = student_resolver(session)
        today = context.clock.now().astimezone(context.settings.zone).date()
        records, problems = parse_attendance(
            data, lambda school, sid: resolve_student(students, school, sid), today=today,
            source=args.file,
        )
        if problems:
            return _refuse(problems)
        counts = apply_attendance(session, records, now=context.clock.now(), source="import")
    out.print("Recorded: " + ", ".join(f"{k} {v}" for k, v in counts.items()), markup=False)
    return 0


def cmd_calendar_import(context: Context, args: argparse.Namespace) -> int:
    """Import terms and breaks: `school,kind,name,start,end` (kind term or break)."""
    data = _read(args.file)
    assert data is not None
    problems = Problems()
    text = decode(data, args.file, problems)
    rows: list[tuple[str, str, str, DateRange]] = []
    if text is not None:
        columns = ("school", "kind", "name", "start", "end")
        for line, row in read_rows(text, args.file, columns, columns, problems):
            if row["kind"] not in {"term", "break"}:
                problems.add(args.file, line, f"kind '{row['kind']}' is not term or break")
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


def cmd_school_set(context: Context, args: argparse.Namespace) -> int:
    """Create or change a school's country, time zone, language, phone or policy."""
    with session_scope(context.engine) as session:
        school = ensure_school(session, args.name, policy=context.policy,
                               timezone=context.settings.timezone, now=context.clock.now())
        if args.policy:
            if args.policy not in PRESETS:
                return _fail(f"--policy must be one of {', '.join(sorted(PRESETS))}")
            school.policy = args.policy
        for field in ("country", "timezone", "language", "phone"):
            value = getattr(args, field)
            if value:
                setattr(school, field, value.upper() if field == "country" else value)
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
    return 0


def cmd_tick(context: Context, args: argparse.Namespace) -> int:
    """Run every due job once as of `--now` (or the clock), send what is due, exit."""
    if args.now:
        try:
            instant = datetime.fromisoformat(args.now)
        except ValueError:
            return _fail(f"--now {args.now!r} is not an ISO 8601 instant")
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=context.settings.zone)
        context.clock.set(instant)
    done = run_sweeps(context.engine, context.clock.now())

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


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> int:
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return 0
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    out.print(table)
    return 0


def cmd_list(context: Context, args: argparse.Namespace) -> int:
    """`absences|tasks|outbox list`."""
    with session_scope(context.engine) as session:
        if args.student and args.what in {"absences", "tasks"}:
            _audit_view(session, args.student, context.clock.now())
        if args.what == "absences":
            day = date.fromisoformat(args.date) if args.date else None
            rows = list_absences(session, student=args.student, school=args.school, day=day,
                                 state=args.state)
            columns: Sequence[str] = ("id", "school", "student_id", "date", "slot", "kind",
                                      "minutes_late", "state")
        elif args.what == "tasks":
            rows = list_tasks(session, status=args.status, student=args.student)
            columns = ("id", "kind", "status", "student_id", "assignee_id", "due_at")
        else:
            rows = list_outbox(session, status=args.status, channel=args.channel, to=args.to)
            columns = ("id", "recipient_id", "channel", "language", "status", "text")
    return _print_rows(rows, args.json, columns)


def cmd_settle(context: Context, args: argparse.Namespace) -> int:
    """`outbox settle ID --arrived|--not-arrived`: a person's word on a maybe_sent message."""
    with session_scope(context.engine) as session:
        if not settle_maybe_sent(session, args.id, arrived=args.arrived,
                                 now=context.clock.now()):
            return _fail(f"outbox message {args.id} is not maybe_sent")
    sys.stdout.write("Marked as sent.\n" if args.arrived else "It will be sent again.\n")
    return 0


def _audit_view(session: Session, external_id: str, now: datetime) -> None:
    """A look at one student's log from the command line is audited like one in the chat."""
    for student_id in session.execute(select(Student.id).where(
            Student.external_id == external_id)).scalars():
        audit(session, at=now, actor="cli", action="student.view", entity="student",
              entity_id=student_id, student_id=student_id)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command of the contract."""
    parser = argparse.ArgumentParser(prog="narvaro", description="Närvaro absence follow-up bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot: channels, web server, scheduler, dispatcher")

    roster = sub.add_parser("roster", help="the roster of students, guardians and staff")
    roster_sub = roster.add_subparsers(dest="action", required=True)
    roster_import = roster_sub.add_parser("import", help="upsert roster CSV files")
    roster_import.add_argument("--students", metavar="FILE")
    roster_import.add_argument("--staff", metavar="FILE")
    roster_import.set_defaults(handler=cmd_roster_import)

    attendance = sub.add_parser("attendance", help="roll call")
    attendance_sub = attendance.add_subparsers(dest="action", required=True)
    attendance_import = attendance_sub.add_parser("import", help="record a roll-call CSV file")
    attendance_import.add_argument("file", metavar="FILE")
    attendance_import.set_defaults(handler=cmd_attendance_import)

    calendar = sub.add_parser("calendar", help="school terms and breaks")
    calendar_sub = calendar.add_subparsers(dest="action", required=True)
    calendar_import = calendar_sub.add_parser("import", help="school,kind,name,start,end")
    calendar_import.add_argument("file", metavar="FILE")
    calendar_import.set_defaults(handler=cmd_calendar_import)

    school = sub.add_parser("school", help="school settings")
    school_sub = school.add_subparsers(dest="action", required=True)
    school_set = school_sub.add_parser("set", help="create or change a school")
    school_set.add_argument("name")
    for option in ("country", "timezone", "language", "phone", "policy"):
        school_set.add_argument(f"--{option}")
    school_set.add_argument(
        "--notice", action="append", metavar="KEY=VALUE",
        help="a same-day notice setting for this school, e.g. first_lesson=08:30, "
             "day_cutoff_minutes=30, quiet_start=21:00, mass_alert_share=0.4")
    school_set.add_argument(
        "--note-retention-days", type=int, metavar="DAYS",
        help="days a report's note is kept after the end of the school year (default 30)")
    school_set.set_defaults(handler=cmd_school_set)

    concern = sub.add_parser("concern", help="staff's concern about a student")
    concern_sub = concern.add_subparsers(dest="action", required=True)
    for action in ("raise", "close"):
        concern_action = concern_sub.add_parser(action, help=f"{action} a concern")
        concern_action.add_argument("--student", required=True, metavar="ID")
        concern_action.set_defaults(handler=cmd_concern)

    add_plan_parser(sub)
    add_caselog_parser(sub)
    add_review_parser(sub)
    add_report_parser(sub)
    add_action_plan_parser(sub)
    add_data_parser(sub)

    tick = sub.add_parser("tick", help="run every due time-driven job once, then exit")
    tick.add_argument("--now", help="ISO 8601 instant to run as of")
    tick.set_defaults(handler=cmd_tick)

    for what in ("absences", "tasks", "outbox"):
        group = sub.add_parser(what, help=f"{what}")
        group_sub = group.add_subparsers(dest="action", required=True)
        listing = group_sub.add_parser("list", help=f"list {what}")
        listing.add_argument("--json", action="store_true", help="a JSON array on stdout")
        listing.add_argument("--student", help="the school's student id")
        if what == "absences":
            listing.add_argument("--school")
            listing.add_argument("--date", help="YYYY-MM-DD")
            listing.add_argument("--state", help="open, reported, unexcused or withdrawn")
        else:
            listing.add_argument("--status")
        if what == "outbox":
            listing.add_argument("--channel")
            listing.add_argument("--to", help="recipient phone (E.164)")
        listing.set_defaults(handler=cmd_list, what=what)
        if what == "outbox":
            settle = group_sub.add_parser(
                "settle", help="a maybe_sent message checked: it arrived, or send it again")
            settle.add_argument("id", type=int)
            arrived = settle.add_mutually_exclusive_group(required=True)
            arrived.add_argument("--arrived", action="store_true", dest="arrived")
            arrived.add_argument("--not-arrived", action="store_false", dest="arrived")
            settle.set_defaults(handler=cmd_settle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `narvaro` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        for line in str(error).splitlines():
            err.print(f"narvaro: {line}", markup=False)
        return EXIT_INVALID
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_libraries()
    context = build_context(settings)
    try:
        if args.command == "run":
            try:
                with contextlib.suppress(KeyboardInterrupt):
                    asyncio.run(serve(context))
            except TelegramError as error:  # its text may hold the token: name the kind only
                err.print(f"narvaro: Telegram refused to start ({type(error).__name__}); check "
                          "NARVARO_TELEGRAM_TOKEN and NARVARO_TELEGRAM_API_URL", markup=False)
                return 1
            return 0
        return int(args.handler(context, args))
    finally:
        context.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
