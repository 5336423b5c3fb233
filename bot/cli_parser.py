"""The `narvaro` command line's arguments: every command, a sentence per option, an example.

Nothing heavy is imported here (`narvaro --help` answers at once): each command names its
handler as "module:function", imported only when that command runs.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any, NoReturn

LANGUAGES = ("sv", "nb", "da", "en", "ar", "so", "ti", "fa", "uk", "pl")  # locales.LANGUAGES
TASK_STATUSES = ("open", "done", "snoozed", "not_needed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "withdrawn",
                   "maybe_sent")
ABSENCE_STATES = ("open", "reported", "unexcused", "withdrawn", "leave")
CHANNELS = ("telegram", "sms", "webchat", "console", "auto")
PRESET_NAMES = ("ljusnarsberg", "bengtsfors", "norway-example", "denmark", "lyngen")


class Parser(argparse.ArgumentParser):
    """argparse's parser, except that a mistake is one line: what is wrong, where to look."""

    def error(self, message: str) -> NoReturn:
        """Say what is wrong in one line on stderr and exit 2 (no usage block)."""
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def iso_date(text: str) -> date:
    """A YYYY-MM-DD argument."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23") from None


def iso_month(text: str) -> str:
    """A YYYY-MM argument (kept as text; `cli_common.month_span` reads it)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        date(year, month, 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-11") from None
    return text


def iso_instant(text: str) -> datetime:
    """An ISO 8601 instant (an offset is optional: without one, the school's time zone)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 instant; e.g. 2026-11-23T09:00+01:00") from None


def _command(sub: Any, name: str, summary: str, example: str, handler: str | None = None,
             **defaults: Any) -> Parser:
    """A (sub)command with its one-line summary, a longer description and an example."""
    parser: Parser = sub.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".",
        epilog="example:\n  " + example.replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    if handler is not None:
        parser.set_defaults(handler=handler, **defaults)
    return parser


def _group(sub: Any, name: str, summary: str) -> Any:
    parser = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:]
                            + ".")
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def build_parser() -> Parser:
    """The argument parser for every command of the contract."""
    parser = Parser(
        prog="narvaro", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Närvaro: follow up school absence by Telegram, SMS and a web chat. "
                    "Settings come from NARVARO_* environment variables or a .env file.",
        epilog="examples:\n  narvaro run\n  narvaro roster import --students students.csv "
               "--staff staff.csv\n  narvaro absences list --date 2026-11-23\n"
               "Each command has its own --help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(sub, "run", "run the bot: channels, web server, scheduler and dispatcher",
             "narvaro run   # then open http://127.0.0.1:8080/")

    roster = _group(sub, "roster", "the roster of students, guardians and staff")
    roster_import = _command(
        roster, "import", "add or update students, guardians and staff from CSV files",
        "narvaro roster import --students students.csv --staff staff.csv",
        "bot.cli_core:cmd_roster_import")
    roster_import.add_argument("--students", metavar="FILE", help=(
        "students.csv, one row per student and guardian (columns in the README)"))
    roster_import.add_argument("--staff", metavar="FILE", help=(
        "staff.csv: school,name,phone,role,language"))

    attendance = _group(sub, "attendance", "roll call")
    attendance_import = _command(
        attendance, "import", "record a roll-call CSV file (absent, late or present)",
        "narvaro attendance import rollcall-2026-11-23.csv", "bot.cli_core:cmd_attendance_import")
    attendance_import.add_argument("file", metavar="FILE", help=(
        "date,student_id,status,lesson_start,lesson_end,minutes_late; school days only"))

    calendar = _group(sub, "calendar", "school terms, breaks and events")
    calendar_import = _command(
        calendar, "import", "record terms, breaks, tests and national exams from a CSV file",
        "narvaro calendar import calendar.csv", "bot.cli_core:cmd_calendar_import")
    calendar_import.add_argument("file", metavar="FILE", help=(
        "school,kind,name,start,end with kind term, break, exam (national exams), tests (a "
        "test week) or event, and inclusive dates"))

    school = _group(sub, "school", "school settings")
    school_set = _command(
        school, "set", "create a school or change its settings",
        "narvaro school set Norrskolan --country SE --timezone Europe/Stockholm "
        "--phone 0590-123 45", "bot.cli_core:cmd_school_set")
    school_set.add_argument("name", help="the school's name as the roster writes it")
    school_set.add_argument("--country", metavar="CC", help=(
        "ISO country code (SE, NO, DK): public holidays and how phone numbers are read"))
    school_set.add_argument("--timezone", metavar="ZONE", help=(
        "IANA time zone, e.g. Europe/Stockholm"))
    school_set.add_argument("--language", metavar="LANG", help=(
        f"language of the school's own messages: {', '.join(LANGUAGES)}"))
    school_set.add_argument("--phone", help=(
        "the number guardians call, shown in notices (read in the school's country)"))
    school_set.add_argument("--policy", choices=PRESET_NAMES, help=(
        "the absence plan the school follows"))
    school_set.add_argument(
        "--notice", action="append", metavar="KEY=VALUE",
        help="a same-day notice setting for this school, e.g. first_lesson=08:30, "
             "day_cutoff_minutes=30, quiet_start=21:00, mass_alert_share=0.4, or "
             "term_total_days=5,10,15 (guardians told the school days missed this term; "
             "off for none) (repeatable)")
    school_set.add_argument(
        "--note-retention-days", type=int, metavar="DAYS",
        help="days a report's note is kept after the end of the school year (default 30)")

    concern = _group(sub, "concern", "staff's concern about a student")
    for action, verb in (("raise", "open"), ("close", "close")):
        concern_action = _command(
            concern, action, f"{verb} staff's concern about a student (audited)",
            f"narvaro concern {action} --student N001", "bot.cli_core:cmd_concern")
        concern_action.add_argument("--student", required=True, metavar="ID",
                                    help="the school's student id")

    _plan(sub)
    caselog = _command(
        sub, "caselog", "a student's case log (concerns, mappings, plans, measures, tasks) as "
        "printable HTML on stdout", "narvaro caselog --student N001 > N001.html",
        "bot.cli_case:cmd_caselog")
    caselog.add_argument("--student", required=True, metavar="ID",
                         help="the school's student id")
    caselog.add_argument("--language", choices=LANGUAGES, help="default: the school's")

    review = _command(
        sub, "review", "a school's monthly review: in words, its figures, a picture",
        "narvaro review --school Norrskolan --month 2026-11 --png review.png",
        "bot.cli_review:cmd_review")
    review.add_argument("--school", required=True, help="the school's name")
    review.add_argument("--month", required=True, metavar="YYYY-MM", type=iso_month,
                        help="the month reviewed")
    review.add_argument("--language", choices=LANGUAGES, help="default: the school's")
    review.add_argument("--json", action="store_true", help="the figures as JSON")
    review.add_argument("--png", metavar="FILE", help="also write the chart to FILE")

    _report(sub)
    _leave(sub)
    _action_plan(sub)
    _data(sub)
    _sync(sub)

    tick = _command(
        sub, "tick", "run every due time-driven job once, send what is due on the channels "
        "`run` uses, print a JSON summary and exit",
        "narvaro tick --now 2026-11-23T09:00+01:00", "bot.cli_core:cmd_tick")
    tick.add_argument("--now", type=iso_instant, metavar="ISO", help=(
        "run as of this instant (default the clock); without an offset, NARVARO_TIMEZONE"))

    _lists(sub)
    return parser


def _lists(sub: Any) -> None:
    examples = {"absences": "narvaro absences list --date 2026-11-23 --state open",
                "tasks": "narvaro tasks list --status open",
                "outbox": "narvaro outbox list --status failed --json"}
    summaries = {"absences": "absences recorded by roll call or reported",
                 "tasks": "staff tasks (calls, meetings, follow-ups)",
                 "outbox": "messages sent and to be sent"}
    for what in ("absences", "tasks", "outbox"):
        group = _group(sub, what, summaries[what])
        listing = _command(group, "list", f"list {summaries[what]}", examples[what],
                           "bot.cli_lists:cmd_list", what=what)
        listing.add_argument("--json", action="store_true",
                             help="a JSON array on stdout instead of a table")
        if what != "outbox":
            listing.add_argument("--student", metavar="ID", help="the school's student id")
        if what == "absences":
            listing.add_argument("--school", help="the school's name")
            listing.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD",
                                 help="only this day")
            listing.add_argument("--state", choices=ABSENCE_STATES, help="only this state")
        elif what == "tasks":
            listing.add_argument("--status", choices=TASK_STATUSES, help="only this status")
        else:
            listing.add_argument("--status", choices=OUTBOX_STATUSES, help="only this status")
            listing.add_argument("--channel", choices=CHANNELS, help="only this channel")
            listing.add_argument("--to", metavar="PHONE", help="only to this phone (E.164)")
            settle = _command(
                group, "settle", "a maybe_sent message checked: it arrived, or send it again",
                "narvaro outbox settle 42 --arrived", "bot.cli_core:cmd_settle")
            settle.add_argument("id", type=int, help="the message's id (outbox list)")
            arrived = settle.add_mutually_exclusive_group(required=True)
            arrived.add_argument("--arrived", action="store_true", dest="arrived",
                                 help="it arrived: mark it sent")
            arrived.add_argument("--not-arrived", action="store_false", dest="arrived",
                                 help="it did not: send it again now")


def _plan(sub: Any) -> None:
    plan = _group(sub, "plan", "a student's return plan (morning check-in)")
    handler = "bot.cli_plan:cmd_plan"
    start = _command(plan, "start", "start a return plan",
                     "narvaro plan start --student N001 --time 07:15 --goal 'In class by 8'",
                     handler)
    start.add_argument("--student", required=True, metavar="ID", help="the school's student id")
    start.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default today)")
    start.add_argument("--evaluate", metavar="YYYY-MM-DD",
                       help="evaluation day (default after 2 weeks of school)")
    start.add_argument("--time", default="07:15", metavar="HH:MM",
                       help="when the morning message goes (default 07:15)")
    start.add_argument("--answer-by", metavar="HH:MM",
                       help="no answer by then tells the trusted adult (default 30 minutes "
                            "before the first lesson)")
    start.add_argument("--adult", metavar="PHONE", help="the trusted adult (default the mentor)")
    start.add_argument("--goal", help="the goal the morning message states")
    start.add_argument("--days", default="1,2,3,4,5",
                       help="weekdays it runs on, school days only (1,2,3,4,5 or mon,…)")
    start.add_argument("--guardian-note", action="store_true",
                       help="the guardians hear each day how the check-in went")
    change = _command(plan, "change", "change a running return plan",
                      "narvaro plan change --student N001 --time 07:30 --no-goal", handler)
    change.add_argument("--student", required=True, metavar="ID",
                        help="the school's student id")
    change.add_argument("--time", metavar="HH:MM", help="when the morning message goes")
    change.add_argument("--answer-by", metavar="HH:MM", help="the answer deadline")
    change.add_argument("--goal", help="the goal the morning message states")
    change.add_argument("--no-goal", action="store_true", help="remove the goal")
    change.add_argument("--days", help="weekdays it runs on (1,2,3,4,5 or mon,…)")
    change.add_argument("--guardian-note", action=argparse.BooleanOptionalAction, default=None,
                        help="the guardians' daily note on or off")
    change.add_argument("--evaluate", metavar="YYYY-MM-DD", help="move the evaluation")
    change.add_argument("--adult", metavar="PHONE", help="a new trusted adult")
    change.add_argument("--add-text", metavar="TEXT",
                        help="add the mentor's own morning text to the rotation")
    end = _command(plan, "end", "end a return plan", "narvaro plan end --student N001",
                   handler)
    end.add_argument("--student", required=True, metavar="ID", help="the school's student id")
    listing = _command(plan, "list", "return plans (active ones unless --all)",
                       "narvaro plan list --all --json", handler)
    listing.add_argument("--student", metavar="ID", help="only this student's")
    listing.add_argument("--all", action="store_true", help="ended plans too")
    listing.add_argument("--json", action="store_true", help="a JSON array")
    messages = _command(
        plan, "messages", "a guardian's word (by phone): may the school message the student?",
        "narvaro plan messages --student N001 off", handler)
    messages.add_argument("--student", required=True, metavar="ID",
                          help="the school's student id")
    messages.add_argument("state", choices=["on", "off"], help="on: allowed; off: not")


def _report(sub: Any) -> None:
    report = sub.add_parser("report", help="absence as CSV: a period, or the month for CSN",
                            description="Absence as CSV on stdout: a period, or a month's "
                                        "unapproved absence for CSN.")
    report_sub = report.add_subparsers(dest="what", required=True, metavar="WHAT")
    absences = _command(
        report_sub, "absences", "a school's or class's absence over a period, day by day",
        "narvaro report absences --school Norrskolan --from 2026-11-01 --to 2026-11-30",
        "bot.cli_reports:cmd_report")
    absences.add_argument("--school", required=True, help="the school's name")
    absences.add_argument("--class", dest="class_name", help="only this class")
    absences.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD",
                          type=iso_date, help="the first day")
    absences.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD",
                          type=iso_date, help="the last day (not before --from)")
    csn = _command(
        report_sub, "csn", "the month's unapproved absence per student, as CSN wants it",
        "narvaro report csn --school Norrskolan --month 2026-11",
        "bot.cli_reports:cmd_report")
    csn.add_argument("--school", required=True, help="the school's name")
    csn.add_argument("--month", required=True, metavar="YYYY-MM", type=iso_month,
                     help="the month reported")


def _leave(sub: Any) -> None:
    leave = _group(sub, "leave", "guardians' leave applications and the school's decisions")
    handler = "bot.cli_leave:cmd_leave"
    listing = _command(leave, "list", "leave applications, oldest first",
                       "narvaro leave list --status pending --json", handler)
    listing.add_argument("--status", choices=("pending", "decided", "withdrawn"),
                         help="only this status")
    listing.add_argument("--student", metavar="ID", help="the school's student id")
    listing.add_argument("--json", action="store_true", help="a JSON array on stdout")
    decide = _command(
        leave, "decide", "record a decision (audited; the guardian is told)",
        "narvaro leave decide L-7K3QF --grant 2027-03-15 --refuse 2027-03-16 --reason exam",
        handler)
    decide.add_argument("reference", metavar="REF", help="the application's reference")
    decide.add_argument("--grant", action="append", type=iso_date, metavar="YYYY-MM-DD",
                        help="a day granted (repeatable)")
    decide.add_argument("--refuse", action="append", type=iso_date, metavar="YYYY-MM-DD",
                        help="a day refused (repeatable)")
    decide.add_argument("--grant-all", action="store_true", help="grant every pending day")
    decide.add_argument("--refuse-all", action="store_true", help="refuse every pending day")
    decide.add_argument("--reason", choices=("exam", "tests", "absence", "other"),
                        help="why days are refused")
    decide.add_argument("--note", help="the reason in the school's words (the guardian reads "
                                       "it)")
    settings = _command(
        leave, "set", "who decides leave at a school, and when an unanswered one moves up",
        "narvaro leave set Norrskolan mentor_max_days=2 escalate_after_days=2", handler)
    settings.add_argument("school", help="the school's name")
    settings.add_argument("setting", nargs="+", metavar="KEY=VALUE", help=(
        "mentor_max_days (up to this many school days the mentor decides, longer the "
        "principal) or escalate_after_days (school days unanswered before it goes to the "
        "principal)"))


def _action_plan(sub: Any) -> None:
    plan = _group(sub, "actionplan", "a student's action plan after a meeting")
    handler = "bot.cli_action_plan:cmd_action_plan"
    add = _command(
        plan, "add", "record the measures agreed (each owner is reminded on its day)",
        "narvaro actionplan add --student N001 \\\n"
        "    --measure '+46701112233|Call home every Monday|2026-11-30'", handler)
    add.add_argument("--student", required=True, metavar="ID", help="the school's student id")
    add.add_argument("--measure", action="append", required=True,
                     metavar="PHONE|WHAT|YYYY-MM-DD",
                     help="one measure: its owner's phone, what, its day (repeat for more)")
    add.add_argument("--evaluate", metavar="YYYY-MM-DD",
                     help="the evaluation day (default after two weeks of school)")
    listing = _command(plan, "list", "the student's action plans as JSON",
                       "narvaro actionplan list --student N001", handler)
    listing.add_argument("--student", required=True, metavar="ID",
                         help="the school's student id")


def _data(sub: Any) -> None:
    audit = _group(sub, "audit", "the audit trail: who did what, when")
    listing = _command(audit, "list", "audit rows, oldest first",
                       "narvaro audit list --student N001 --since 2026-11-01",
                       "bot.cli_data:cmd_audit")
    listing.add_argument("--student", metavar="ID", help="the school's student id")
    listing.add_argument("--actor", help="person:ID, cli, api or system")
    listing.add_argument("--action", dest="action_prefix", metavar="ACTION",
                         help="actions starting with this, e.g. report or roster.import")
    listing.add_argument("--since", metavar="ISO", type=iso_instant,
                         help="from this instant on (a date or an ISO 8601 instant)")
    listing.add_argument("--json", action="store_true", help="a JSON array on stdout")

    export = _command(sub, "export", "everything stored about a person, as JSON (GDPR access)",
                      "narvaro export --guardian '+46701234567'", "bot.cli_data:cmd_export")
    export.add_argument("--guardian", required=True, metavar="PHONE",
                        help="the person's phone number")
    forget = _command(sub, "forget", "remove a person who has left (GDPR erasure)",
                      "narvaro forget --guardian '+46701234567'", "bot.cli_data:cmd_forget")
    forget.add_argument("--guardian", required=True, metavar="PHONE",
                        help="the person's phone number (not a student's own)")
    _command(sub, "purge", "clear report notes and message texts past their retention now "
             "(the scheduler does it too)", "narvaro purge", "bot.cli_data:cmd_purge")


def _sync(sub: Any) -> None:
    sync = _group(sub, "sync", "sync with the school's own system now")
    ss12000 = _command(sync, "ss12000", "roster and roll call from SS 12000, reports written "
                       "back; prints what changed", "narvaro sync ss12000 --full",
                       "bot.cli_sync:cmd_sync")
    ss12000.add_argument("--full", action="store_true",
                         help="read everything again, not only what changed since the last sync")
    person = _group(sub, "person", "what a school system does not know about a person")
    person_set = _command(person, "set", "set a person's language (a sync keeps it)",
                          "narvaro person set --phone '+46701234567' --language ar",
                          "bot.cli_sync:cmd_person_set")
    person_set.add_argument("--phone", required=True, metavar="PHONE",
                            help="the person's phone number")
    person_set.add_argument("--language", required=True, choices=LANGUAGES,
                            help="the language messages go out in: " + ", ".join(LANGUAGES))
