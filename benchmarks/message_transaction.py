"""The database work of one Telegram report, alone: CPU and SQL statements per message.

Run: python benchmarks/message_transaction.py [--guardians 20] [--rounds 8] [--students 600]
                                              [--profile]

What `benchmarks/telegram_dialogs.py` measures with the Bot API and PTB around it, this
measures without: a roster of `--guardians` guardians (one child each) is imported into a
SQLite file in a temporary folder (with `--students`, at a school of that many students:
each message is compared with their names), each links their chat, and then each reports one school
day after another ("sjuk 24/11"), each message handled as `TelegramBot._handle` does
(`handle_chat_message` in one transaction, claimed for this worker) and its answer marked
sent as the dispatcher does (a second transaction). Printed: CPU time per message (the best
of `--rounds` rounds, as other work on the machine only ever adds to it) and SQL statements
per message; with --profile, cProfile's 30 most expensive functions of ours. With
--sqlite-alone, also what SQLite itself takes for them: one more report's statements, as
SQLAlchemy handed them to the driver, run again through `sqlite3` directly, each time in a
transaction rolled back (its inserts then find nothing in the way, as the report's did).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.telegram_dialogs import write_roster  # noqa: E402
from policy.calendar import SchoolCalendar  # noqa: E402

FIRST_CHAT = 800_000
#: Monday 23 November 2026, 08:00 in Stockholm: the reports are for the days after.
NOW = "2026-11-23T08:00:00+01:00"
#: School days within reach (30 days ahead), the first one to warm up.
DAYS = SchoolCalendar("SE").school_days(date(2026, 11, 24), date(2026, 12, 18))


def main(arguments: argparse.Namespace) -> None:
    """Set up the roster, run the rounds and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update({
            "NARVARO_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
            "NARVARO_DEMO": "0", "NARVARO_CLOCK_START": NOW,
            "NARVARO_TELEGRAM_TOKEN": "123456:bench",
        })
        phones = write_roster(Path(folder), arguments.guardians, arguments.students)
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "roster", "import", "--students",
             str(Path(folder) / "students.csv"), "--staff", str(Path(folder) / "staff.csv")],
            cwd=ROOT, check=True, capture_output=True)
        measure(arguments, phones)


def measure(arguments: argparse.Namespace, phones: list[str]) -> None:
    """Link every guardian, then time `--rounds` rounds of reports."""
    from sqlalchemy import event

    from bot.context import build_context
    from bot.settings import load_settings
    from handlers.linking import ChatMessage, handle_chat_message
    from storage.db import session_scope
    from storage.models import Person
    from storage.outbox import mark_sent

    context = build_context(load_settings(), migrate=False)
    engine, now = context.engine, context.clock.now()
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        statements[0] += 1

    refs = iter(range(10**9))

    def handle(chat: int, text: str = "", contact: str | None = None) -> str:
        message = ChatMessage(
            channel="telegram", chat_id=chat, user_id=chat, ref=f"r{next(refs)}",
            language_hint="sv", text=text, contact_phone=contact,
            contact_user_id=chat if contact else None)
        with session_scope(engine, hold=True) as session:
            rows = handle_chat_message(session, message, now=now, claim="local",
                                       secret=b"123456:bench")
            # As the channel does: each answer with its recipient, to send it.
            _people = [session.get(Person, row.recipient_id) for row in rows
                       if row.recipient_id]
        for row in rows:
            with session_scope(engine) as session:
                mark_sent(session, row.id or 0, now=now, provider_ref="1", delivered=False,
                          channel="telegram")
        return rows[0].text

    for n, phone in enumerate(phones):
        handle(FIRST_CHAT + n, "/start")
        handle(FIRST_CHAT + n, contact=phone)
    days = DAYS
    for n in range(arguments.guardians):
        handle(FIRST_CHAT + n, f"sjuk {days[0].day}/{days[0].month}")
    per_round = (len(days) - 1) // arguments.rounds
    profile = cProfile.Profile() if arguments.profile else None
    rounds: list[float] = []
    statements[0] = 0
    for number in range(arguments.rounds):
        began = time.process_time()
        if profile is not None:
            profile.enable()
        for day in days[1 + number * per_round:1 + (number + 1) * per_round]:
            for n in range(arguments.guardians):
                answer = handle(FIRST_CHAT + n, f"sjuk {day.day}/{day.month}")
                assert answer.startswith("Registrerat"), answer  # a report was recorded
        if profile is not None:
            profile.disable()
        rounds.append((time.process_time() - began) / (per_round * arguments.guardians))
    report(arguments, rounds, statements[0], profile)
    if arguments.sqlite_alone:
        one = capture_report(engine, lambda: handle(FIRST_CHAT, f"sjuk {days[-1].day}/"
                                                             f"{days[-1].month}"))
        print(f"SQLite alone, the same {len(one)} statements through sqlite3: "
              f"{1000 * sqlite_alone(str(engine.url.database), one):.3f} ms CPU per message")


#: The tables one report writes to (rows added by the captured report are removed again).
_WRITTEN = ("inbound_seen", "absence_report", "absence", "audit_log", "outbox_message")


def _row_counts(connection: Any) -> list[tuple[str, int]]:
    from sqlalchemy import text

    return [(name, connection.execute(text(f"SELECT max(rowid) FROM {name}")).scalar() or 0)
            for name in _WRITTEN]


def capture_report(engine: Any, report: Callable[[], object]) -> list[tuple[str, Any]]:
    """The statements `report()` runs, as handed to the driver; its rows removed again."""
    from sqlalchemy import event

    with engine.connect() as connection:
        before = dict(_row_counts(connection))
    statements: list[tuple[str, Any]] = []

    def capture(_connection: Any, _cursor: Any, statement: str, parameters: Any,
                *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        report()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    _undo_report(engine, before)
    return statements


def _undo_report(engine: Any, before: dict[str, int]) -> None:
    """Remove the rows the captured report added, so that running its statements again
    inserts as it did."""
    from sqlalchemy import text

    with engine.begin() as connection:
        for name, last in before.items():
            connection.execute(text(f"DELETE FROM {name} WHERE rowid > :last"), {"last": last})


def sqlite_alone(database: str, statements: list[tuple[str, Any]], times: int = 2000) -> float:
    """CPU seconds per run of `statements` through `sqlite3` itself, each run in a
    transaction that is rolled back (the best of three)."""
    import sqlite3

    connection = sqlite3.connect(database, isolation_level=None)
    try:
        def once() -> None:
            for statement, parameters in statements:
                if statement.startswith("BEGIN"):
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    connection.execute(statement)
                else:
                    connection.execute(statement, parameters).fetchall()
            connection.execute("ROLLBACK")

        best = float("inf")
        for _round in range(3):
            began = time.process_time()
            for _time in range(times):
                once()
            best = min(best, (time.process_time() - began) / times)
        return best
    finally:
        connection.close()


def report(arguments: argparse.Namespace, rounds: list[float], statements: int,
           profile: cProfile.Profile | None) -> None:
    """Print the figures (and the profile): `rounds` holds each round's CPU per message,
    `statements` the SQL statements of all rounds."""
    per_round = (len(DAYS) - 1) // arguments.rounds
    messages = per_round * arguments.guardians * len(rounds)
    school = max(arguments.students, arguments.guardians)
    print(f"{arguments.guardians} guardians at a school of {school} students, "
          f"{messages} reports: "
          f"{1000 * min(rounds):.2f} ms CPU per message (best round; median "
          f"{1000 * sorted(rounds)[len(rounds) // 2]:.2f} ms), "
          f"{statements / messages:.1f} SQL statements per message")
    if profile is not None:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(
            rf"{ROOT}/(handlers|storage|policy|services|locales)", 30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8, help="at most 18 (school days)")
    parser.add_argument("--students", type=int, default=0,
                        help="students at the school, if more than the guardians' children")
    parser.add_argument("--sqlite-alone", action="store_true",
                        help="also time one report's statements through sqlite3 directly")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's most expensive functions of ours")
    main(parser.parse_args())
