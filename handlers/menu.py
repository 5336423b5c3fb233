"""The main menu: greeting, help, a guardian's view of today, a staff member's tasks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from handlers.messages import Choice, Incoming, Reply
from locales import N_, gettext_for, ngettext_for
from locales.formats import task_kind
from storage.models import Absence, Person, School, StaffTask, Student
from storage.people import Roles, roles_of, school_of
from storage.plan_tasks import plan_words
from storage.tasks import student_label

STATUS, TASKS, HELP = "menu:status", "menu:tasks", "menu:help"
REPORT, REPORTS = "menu:report", "menu:reports"
ROLL = "menu:roll"
LANGUAGE = "menu:language"  # handled by handlers.language
WORRY = "menu:worry"  # handled by handlers.worry
LEAVE = "menu:leave"  # handled by handlers.leave (its APPLY)
HELP_WORDS = {
    "help", "/help", "hjälp", "hjelp", "hjælp", "?", "مساعدة", "caawin", "caawimaad", "caawimo",
    "ሓገዝ", "کمک", "راهنما", "допомога", "pomoc",
}
#: Words that get the greeting and the menu rather than starting a report.
GREETING_WORDS = {
    "hej", "hei", "hi", "hello", "hallo", "halløj", "hejsan", "tjena", "god morgon",
    "god morgen", "مرحبا", "السلام عليكم", "menu", "meny", "menyn", "menu?", "/menu",
    "salaan", "iska warran", "ሰላም", "سلام", "منو", "привіт", "вітаю", "добрий день", "меню",
    "cześć", "dzień dobry", "witam",
}


def menu_choices(language: str, roles: Roles) -> tuple[Choice, ...]:
    """The buttons this person gets: what they can do depends on their roles."""
    choices = []
    if can_report(roles):
        choices.append(Choice(REPORT, gettext_for(language, "Report absence")))
        choices.append(Choice(REPORTS, gettext_for(language, "My reports")))
    if roles.children or roles.student is not None:
        choices.append(Choice(STATUS, gettext_for(language, "Today's absence")))
    if can_report(roles):
        choices.append(Choice(WORRY, gettext_for(language, "Something worries me")))
        choices.append(Choice(LEAVE, gettext_for(language, "Apply for leave")))
    if roles.staff:
        choices.append(Choice(TASKS, gettext_for(language, "My tasks")))
        choices.append(Choice(ROLL, gettext_for(language, "Roll call")))
    choices.append(Choice(HELP, gettext_for(language, "Help")))
    choices.append(Choice(LANGUAGE, gettext_for(language, "Language")))
    return tuple(choices)


def can_report(roles: Roles) -> bool:
    """Guardians report for their children; adult students for themselves."""
    return any(not student.adult for student, _child in roles.children) or bool(
        roles.student is not None and roles.student.adult
    )


def handle_menu(session: Session, person: Person, incoming: Incoming, now: datetime) -> Reply:
    """Answer a menu choice or any other message with the greeting and the menu."""
    language = person.language
    roles = roles_of(session, person)
    choices = menu_choices(language, roles)
    text = incoming.text.strip().lower()
    if incoming.choice == HELP or text in HELP_WORDS:
        if roles.staff:
            return Reply(staff_help(language), choices)
        return Reply(help_text(session, person), choices)
    if incoming.choice == STATUS:
        return Reply(_status_text(session, person, roles, now), choices)
    if incoming.choice == TASKS:
        return Reply(_tasks_text(session, person, now), choices)
    return Reply(greeting(person, roles), choices)


def greeting(person: Person, roles: Roles) -> str:
    """Hello, and what this person can do here."""
    name = person.name.split()[0] if person.name.split() else person.name
    if can_report(roles):
        return gettext_for(
            person.language,
            "Hi {name}! To report an absence, just write it, for example "
            "“sick today”.", name=name,
        )
    return gettext_for(person.language, "Hi {name}! This is Närvaro.", name=name)


#: A staff member's commands, a line each (each short enough for a text message).
STAFF_COMMANDS = (
    N_("/tasks – your open tasks"),
    N_("/roll – take roll call for a class"),
    N_("/student NAME – one of your students: this term, concern, plan, latest events"),
    N_("/concern NAME – raise a concern about a student"),
    N_("/plan NAME – a student's return plan with the morning check-in"),
    N_("/mapping NAME – ask a student the seven questions of the cause mapping"),
    N_("/actionplan NAME – record the measures agreed at a meeting"),
    N_("/language – change your language"),
)


def staff_help(language: str) -> str:
    """A staff member's commands, each with what it does, in their language."""
    # Translators: the heading of a staff member's /help; then come the commands (keep
    # /tasks, /roll, … and NAME as they are).
    lines = [gettext_for(language, "Your commands:")]
    lines += [gettext_for(language, command) for command in STAFF_COMMANDS]
    return "\n".join(lines)


def help_text(session: Session, person: Person) -> str:
    """Whom to ask: the school's phone number when known."""
    school = school_of(session, person)
    if school is not None and school.phone:
        return gettext_for(
            person.language, "Questions? Call {school} on {phone}.",
            school=school.name, phone=school.phone,
        )
    return gettext_for(person.language, "Questions? Contact your school.")


def _local_today(school: School | None, now: datetime) -> tuple[ZoneInfo, datetime]:
    zone = ZoneInfo(school.timezone if school else "Europe/Stockholm")
    return zone, now.astimezone(zone)


def _status_text(session: Session, person: Person, roles: Roles, now: datetime) -> str:
    language = person.language
    students = [student for student, _child in roles.children]
    names = {student.id: child.name for student, child in roles.children}
    if roles.student is not None:
        students.append(roles.student)
        names[roles.student.id] = person.name
    lines = []
    for student in students:
        school = session.get(School, student.school_id)
        _zone, local = _local_today(school, now)
        states = set(
            session.execute(
                select(Absence.state).where(
                    Absence.student_id == student.id,
                    Absence.day == local.date(),
                    Absence.state != "withdrawn",
                )
            ).scalars()
        )
        name = names[student.id]
        if not states:
            lines.append(gettext_for(language, "{name}: no absence recorded today.", name=name))
        elif states == {"reported"}:
            lines.append(gettext_for(language, "{name}: reported absent today.", name=name))
        else:
            lines.append(
                gettext_for(language, "{name}: recorded absent today, not reported.", name=name)
            )
    return "\n".join(lines)


def _tasks_text(session: Session, person: Person, now: datetime) -> str:
    language = person.language
    tasks = list(
        session.execute(
            select(StaffTask)
            .where(
                StaffTask.assignee_id == person.id,
                StaffTask.status.in_(("open", "snoozed")),
            )
            .order_by(StaffTask.due_at)
        ).scalars()
    )
    header = ngettext_for(
        language, "You have {n} open task.", "You have {n} open tasks.", len(tasks)
    )
    school = school_of(session, person)
    zone, _local = _local_today(school, now)
    lines = [header]
    for task in tasks[:10]:
        kind = plan_words(session, task) or task_kind(task.kind, language)
        student = session.get(Student, task.student_id) if task.student_id else None
        about = f": {student_label(session, student)}" if student else ""
        lines.append(f"• {kind}{about} · {task.due_at.astimezone(zone):%Y-%m-%d %H:%M}")
    return "\n".join(lines)
