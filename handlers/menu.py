"""The main menu: greeting, help, a guardian's view of today, a staff member's tasks."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from handlers.messages import Choice, Context, Reply
from handlers.router import with_text
from handlers.schooltime import local_now, zone_for
from locales import N_, gettext_for, ngettext_for
from locales.formats import task_kind
from policy.choices import (
    MENU_HELP,
    MENU_LANGUAGE,
    MENU_LEAVE,
    MENU_REPORT,
    MENU_REPORTS,
    MENU_ROLL,
    MENU_STATUS,
    MENU_TASKS,
    MENU_WORRY,
)
from storage.models import Absence, Person, School, StaffTask
from storage.people import Roles, school_of
from storage.plan_tasks import plan_words
from storage.tasks import student_label, task_student

TASKS_COMMAND = "/tasks"
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
        choices.append(Choice(MENU_REPORT, gettext_for(language, "Report absence")))
        choices.append(Choice(MENU_REPORTS, gettext_for(language, "My reports")))
    if roles.children or roles.student is not None:
        choices.append(Choice(MENU_STATUS, gettext_for(language, "Today's absence")))
    if can_report(roles):
        choices.append(Choice(MENU_WORRY, gettext_for(language, "Something worries me")))
        choices.append(Choice(MENU_LEAVE, gettext_for(language, "Apply for leave")))
    if roles.staff:
        choices.append(Choice(MENU_TASKS, gettext_for(language, "My tasks")))
        choices.append(Choice(MENU_ROLL, gettext_for(language, "Roll call")))
    choices.append(Choice(MENU_HELP, gettext_for(language, "Help")))
    choices.append(Choice(MENU_LANGUAGE, gettext_for(language, "Language")))
    return tuple(choices)


#: Longer than any menu label in any language.
MAX_LABEL = 40


def typed_entry(text: str, language: str, roles: Roles) -> str | None:
    """The menu entry whose label the words are ("mina anmälningar" for *My reports*),
    packed as its button's data: written out, a label is as good as the tap (a text
    message shows labels, and people type what they read)."""
    said = text.strip().strip(".!?").casefold()
    if len(said) > MAX_LABEL or any(char.isdigit() for char in said):
        return None  # no label is that long or has a number: most messages stop here
    return next((choice.key.pack() for choice in menu_choices(language, roles)
                 # help and language have words of their own, read in their place
                 if choice.key not in (MENU_HELP, MENU_LANGUAGE)
                 and choice.label.casefold() == said), None) if said else None


def can_report(roles: Roles) -> bool:
    """Guardians report for their children; adult students for themselves."""
    return any(not student.adult for student, _child in roles.children) or bool(
        roles.student is not None and roles.student.adult
    )


def answer(context: Context) -> Reply:
    """Answer a menu choice or any other message with the greeting and the menu."""
    session, person, roles = context.session, context.person, context.roles
    language = person.language
    choices = menu_choices(language, roles)
    if context.choice == MENU_HELP or is_help(context.text):
        if roles.staff:
            return Reply(staff_help(language), choices)
        return Reply(help_text(session, person), choices)
    if context.choice == MENU_STATUS:
        return Reply(_status_text(session, person, roles, context.now), choices)
    if context.choice == MENU_TASKS:
        return Reply(_tasks_text(session, person, context.now), choices)
    return Reply(greeting(person, roles), choices)


def greet(context: Context) -> Reply:
    """The greeting and the menu, whatever the message said."""
    return Reply(greeting(context.person, context.roles),
                 menu_choices(context.language, context.roles))


def show_help(context: Context) -> Reply:
    """Help: whom to ask, or a staff member's commands."""
    return answer(with_text(context, "help"))


def show_tasks(context: Context) -> Reply:
    """`/tasks`: a staff member's open tasks."""
    return answer(with_text(context, "", MENU_TASKS.pack()))


def is_help(text: str) -> bool:
    """Whether the words ask for help ("hjälp", "?")."""
    return text.strip().lower() in HELP_WORDS


def is_greeting(text: str) -> bool:
    """Whether the words are a greeting ("hej", "menu")."""
    return text.lower().strip("!.") in GREETING_WORDS


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
        local = local_now(school, now, session=session)
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
                col(StaffTask.status).in_(("open", "snoozed")),
            )
            .order_by(col(StaffTask.due_at))
        ).scalars()
    )
    header = ngettext_for(
        language, "You have {n} open task.", "You have {n} open tasks.", len(tasks)
    )
    school = school_of(session, person)
    zone = zone_for(session, school)
    lines = [header]
    for task in tasks[:10]:
        kind = plan_words(session, task) or task_kind(task.kind, language)
        student = task_student(session, task)
        about = f": {student_label(session, student)}" if student else ""
        lines.append(f"• {kind}{about} · {task.due_at.astimezone(zone):%Y-%m-%d %H:%M}")
    return "\n".join(lines)
