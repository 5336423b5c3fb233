"""`/student <name>`: a mentor sees one of their own students — the term's counters, the
step of the plan the student is on, and the latest of their log. Nobody else's.

A mentor sees their mentees; a principal or coordinator the students of their school; a
nurse or counsellor the students whose tasks they own.
Anyone else, or a name that is not one of those students, learns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from handlers.messages import Context, Reply
from locales import N_, gettext_for, ngettext_for
from locales.formats import format_day, format_percent, signal_names
from policy.freetext import match_child
from policy.ladder import Record, counters, term_of
from storage.concerns import concern_notes, open_concern
from storage.models import (
    Absence,
    AuditLog,
    LadderPosition,
    MentorLink,
    Person,
    School,
    StaffRole,
    StaffTask,
    Student,
)
from storage.people import Roles
from storage.plan_tasks import ladder_named, plan_words
from storage.schools import school_calendar, school_zone
from storage.tasks import student_label

COMMAND = "/student"
LOG_LINES = 8
STATES = {
    ("absent", "unexcused"): N_("absent, no report"),
    ("absent", "open"): N_("absent, no report"),
    ("absent", "reported"): N_("absent, reported"),
    ("absent", "withdrawn"): N_("corrected: present"),
    ("absent", "leave"): N_("absent, granted leave"), ("late", "leave"): N_("late"),
    ("late", "unexcused"): N_("late"), ("late", "open"): N_("late"),
    ("late", "reported"): N_("late"), ("late", "withdrawn"): N_("corrected: present"),
}


def show(context: Context) -> Reply:
    """The student named after the command, if they are one of the person's own."""
    session, person, roles, text, now = (context.session, context.person, context.roles,
                                         context.text, context.now)
    language = person.language
    student = named_student(session, person, roles, text, gettext_for(
        language, "Write /student and a name, for example /student Ali."))
    if isinstance(student, Reply):
        return student
    session.add(AuditLog(at=now, actor=f"person:{person.id}", action="student.view",
                         entity="student", entity_id=str(student.id), detail={},
                         student_id=student.id))
    return Reply(_profile(session, student, language, now))


def named_student(session: Session, person: Person, roles: Roles, text: str,
                  hint: str) -> Student | Reply:
    """The one of the person's own students named after the command in `text` ("/plan
    Elin"); `hint` (how to write the command) when no name follows it."""
    name = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    return own_student(session, person, roles, name) if name else Reply(hint)


def own_student(session: Session, person: Person, roles: Roles,
                name: str) -> Student | Reply:
    """The one of the person's own students called `name`, or the answer that none is
    (which reveals nothing about anyone else's)."""
    students = visible_students(session, person, roles)
    by_id = [student for student, _name in students
             if student.external_id.casefold() == name.strip().lstrip("#").casefold()]
    if len(by_id) == 1:  # the way staff name a student with protected identity
        return by_id[0]
    index = match_child(name, [student_name for _student, student_name in students])
    if index is None:
        return Reply(gettext_for(person.language, "None of your students is called {name}.",
                                 name=name[:40]))
    return students[index][0]


def visible_students(session: Session, person: Person, roles: Roles) -> list[tuple[Student, str]]:
    """The students this staff member may look at, with their names: a principal's or
    coordinator's school; a mentor's mentees; anyone's (a nurse's, a counsellor's) students
    whose tasks they own."""
    leads = session.execute(select(StaffRole.school_id).where(
        StaffRole.person_id == person.id,
        col(StaffRole.role).in_(["principal", "coordinator"]))).scalars().all()
    query = select(Student, Person.name).join(Person, col(Person.id) == Student.person_id)
    if leads:
        rows = session.execute(query.where(col(Student.school_id).in_(leads))).all()
    else:
        own = select(MentorLink.student_id).where(MentorLink.mentor_id == person.id).union(
            select(StaffTask.student_id).where(StaffTask.assignee_id == person.id,
                                               col(StaffTask.student_id).is_not(None)))
        rows = session.execute(query.where(col(Student.id).in_(own))).all()
    return [(student, name) for student, name in rows]


def visible_student(session: Session, person: Person, roles: Roles,
                    student_id: int | str | None) -> Student | None:
    """The student with this id if the person, as staff, may look at them; None otherwise
    (whether the student exists or not)."""
    if not roles.staff or student_id is None:
        return None
    wanted = str(student_id)
    return next((student for student, _name in visible_students(session, person, roles)
                 if str(student.id) == wanted), None)


def term_counts(found: Mapping[str, float], language: str) -> str:
    """The term's counters in a sentence, each count with its own plural, the share of
    absence as the reader's locale writes a percentage."""
    counts = [
        ngettext_for(language, "{n} unexcused occasion", "{n} unexcused occasions",
                     int(found["unexcused_occasions"])),
        gettext_for(language, "{percent} absence",
                    percent=format_percent(found["absence_percent"], language)),
        ngettext_for(language, "{n} single lesson missed", "{n} single lessons missed",
                     int(found["lesson_absences"])),
        ngettext_for(language, "{n} late arrival this month", "{n} late arrivals this month",
                     int(found["late_this_month"])),
        ngettext_for(language, "{n} day absent in a row", "{n} days absent in a row",
                     int(found["continuous_days"])),
    ]
    # Translators: a mentor's view of one student over the current term; {counts} is a list
    # such as "2 unexcused occasions, 1.3% absence, …" (each part translated on its own).
    return gettext_for(language, "This term: {counts}.", counts=", ".join(counts),
                       isolate=False)


def _profile(session: Session, student: Student, language: str, now: datetime) -> str:
    school = session.get(School, student.school_id)
    zone = school_zone(session, student.school_id)
    today = now.astimezone(zone).date()
    calendar = school_calendar(session, school) if school else None
    absences = session.execute(select(Absence).where(Absence.student_id == student.id)
                               .order_by(col(Absence.day).desc(), col(Absence.slot))).scalars()
    rows = list(absences)
    lines = [student_label(session, student, opened=True)]  # opened on purpose, audited
    if calendar is not None:
        term = term_of(calendar, today)
        found = counters([Record(a.day, a.kind, a.state, a.lesson_start, a.lesson_end)
                          for a in rows if a.day >= term.start], calendar, today,
                         concern=open_concern(session, student.id or 0) is not None)
        lines.append(term_counts(found, language))
    concern = open_concern(session, student.id or 0)
    if concern is not None:
        lines.append(gettext_for(language, "Staff concern since {day}.", day=format_day(
            concern.raised_at.astimezone(zone).date(), language).rstrip(".")))
    for raised in concern_notes(session, student.id or 0)[-LOG_LINES:]:
        who = session.get(Person, raised.raised_by or 0)
        said = signal_names(raised.signals, language)
        if raised.note:
            said = f"{said}: {raised.note}" if said else raised.note
        lines.append(f"• {format_day(raised.at.astimezone(zone).date(), language)} "
                     f"{who.name if who else '-'}: {said}")
    position = session.get(LadderPosition, student.id)
    ladder = ladder_named(school.policy) if school else None
    step = next((s for s in ladder.steps if position and s.id == position.step_id), None) \
        if ladder else None
    if step is not None:
        lines.append(gettext_for(language, "Step of the plan: {step}",
                                 step=step.quote[:160]))
    else:
        lines.append(gettext_for(language, "Not on any step of the plan."))
    events = [(a.day, f"{format_day(a.day, language)}: "
               f"{gettext_for(language, STATES.get((a.kind, a.state), N_('late')))}"
               f"{_notice_answer(a, language, zone)}")
              for a in rows[:LOG_LINES]]
    for task in session.execute(select(StaffTask).where(StaffTask.student_id == student.id)
                                .order_by(col(StaffTask.id).desc()).limit(LOG_LINES)).scalars():
        what = plan_words(session, task) or task.kind
        events.append((task.created_at.astimezone(zone).date(),
                       f"{format_day(task.created_at.astimezone(zone).date(), language)}: "
                       f"{what} ({task.outcome or task.status})"))
    if events:
        lines.append(gettext_for(language, "Latest:"))
        lines += [f"• {text}" for _day, text in sorted(events, reverse=True)[:LOG_LINES]]
    return "\n".join(lines)


def _notice_answer(absence: Absence, language: str, zone: ZoneInfo) -> str:
    """Whether the guardians answered the day's notice (so the mentor calls those who did
    not first); nothing when no notice was sent."""
    if absence.notified_at is None:
        return ""
    if absence.answered_at is None:
        return " · " + gettext_for(language, "notice not answered")
    return " · " + gettext_for(language, "notice answered at {time}",
                               time=f"{absence.answered_at.astimezone(zone):%H:%M}")
