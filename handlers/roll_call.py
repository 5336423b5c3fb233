"""A teacher's roll call in the chat: pick a class, mark who is absent or late, send.

`/roll` (or the staff menu's Roll call) asks which of the teacher's classes
(their mentees' classes first; one class skips the question), then shows the
class's students as buttons. A tap cycles a student present → absent → late
→ present; by SMS one writes the students' numbers or names instead. Send
stores it through `storage.attendance.apply_attendance`, the one roll-call
service, for today at the school.

The marks start from what is recorded for the class today, so a second roll
call corrects the first: a student shown absent and sent present is sent as
`present`, which withdraws the absence. Absences recorded after the teacher
opened the list (a guardian's report meanwhile) are left alone: the teacher
never saw them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from handlers.messages import Choice, Context, Reply
from handlers.schooltime import calendar_for, local_today
from locales import gettext_for, ngettext_for
from locales.formats import format_day
from policy.attendance import AttendanceRecord
from policy.choices import MENU_ROLL, Cancel, RollClass, RollMark, RollSend
from policy.freetext import fold, parse_yes_no, words
from storage.attendance import apply_attendance, record_roll_call
from storage.conversations import clear_state, set_state
from storage.models import (
    Absence,
    MentorLink,
    Person,
    RollCall,
    School,
    SchoolClass,
    Student,
)
from storage.schools import policy_of

log = logging.getLogger(__name__)
DIALOG, COMMAND = "roll", "/roll"
CLASS, MARKS = "class", "marks"
PRESENT, ABSENT, LATE = "present", "absent", "late"
NEXT_MARK = {PRESENT: ABSENT, ABSENT: LATE, LATE: PRESENT}
SIGNS = {ABSENT: "✗", LATE: "⏱"}
#: Absence states that count as "recorded absent" when the list opens.
RECORDED_STATES = ("open", "unexcused", "reported", "leave")
#: Words between names ("Ali och Sara") that name nobody.
JOINERS = frozenset(fold(word) for word in ("och", "og", "and", "samt", "و"))


@dataclass
class _Roll:
    """One step of the dialog: who is writing, and when."""

    session: Session
    person: Person
    now: datetime

    def t(self, message: str, **values: Any) -> str:
        """`message` in the writer's language."""
        return gettext_for(self.person.language, message, **values)


def handle(context: Context) -> Reply:
    """Answer a roll-call message (staff): start, pick a class, mark students, send."""
    session, key = context.session, context.choice
    roll = _Roll(session, context.person, context.now)
    state = context.state if context.state is not None and context.state.dialog == DIALOG \
        else None
    schools = {school.id: school for school, _role in context.roles.staff}
    if key == MENU_ROLL or (not context.tapped and context.command):
        return _start(roll, schools)
    if isinstance(key, RollClass):
        chosen = _own_class(session, schools, key.school_class)
        return _open(roll, chosen) if chosen is not None else _start(roll, schools)
    if state is None:
        return Reply(roll.t("That roll call is finished. Write /roll to take a new one."))
    data = dict(state.data)
    if state.step == CLASS:
        if key is not None:  # a student's button from an earlier list: the class comes first
            return _start(roll, schools)
        return _class_from_text(roll, schools, data, context.text)
    if isinstance(key, RollSend):
        return _save(roll, data)
    students = _students(session, int(data["class"]))
    if isinstance(key, RollMark):
        if any(student.id == key.student for student, _name in students):
            _toggle(data, str(key.student))
        return _show(roll, data, students)
    return _marks_from_text(roll, data, students, context.text)


def _start(roll: _Roll, schools: dict[int | None, School]) -> Reply:
    """Ask for the class (or open the only one)."""
    classes = _classes(roll.session, roll.person, schools)
    if not classes:
        clear_state(roll.session, roll.person.id or 0)
        return Reply(roll.t("There are no classes for your school in Närvaro yet."))
    if len(classes) == 1:
        return _open(roll, classes[0])
    return _ask_class(roll, classes, schools)


def _ask_class(roll: _Roll, classes: list[SchoolClass], schools: dict[int | None, School],
               lead: str | None = None) -> Reply:
    set_state(roll.session, roll.person.id or 0, dialog=DIALOG, step=CLASS,
              data={"classes": [c.id for c in classes]}, now=roll.now)
    question = roll.t("Roll call: which class?")
    choices = [Choice(RollClass(c.id or 0), _class_label(c, schools)) for c in classes]
    choices.append(Choice(Cancel(), roll.t("Cancel")))
    return Reply(f"{lead}\n\n{question}" if lead else question, tuple(choices))


def _class_label(school_class: SchoolClass, schools: dict[int | None, School]) -> str:
    if len(schools) > 1:
        return f"{school_class.name} · {schools[school_class.school_id].name}"
    return school_class.name


def _natural(name: str) -> list[Any]:
    """Sort key putting 7A before 10A."""
    return [int(part) if part.isdecimal() else part.lower() for part in re.split(r"(\d+)", name)]


def _classes(session: Session, person: Person, schools: dict[int | None, School]
             ) -> list[SchoolClass]:
    """The classes of the person's schools, their mentees' classes first."""
    mentored = set(session.execute(
        select(Student.class_id).join(MentorLink, col(MentorLink.student_id) == Student.id)
        .where(MentorLink.mentor_id == person.id)
    ).scalars())
    classes = session.execute(
        select(SchoolClass).where(col(SchoolClass.school_id).in_(list(schools)))
    ).scalars()
    return sorted(classes, key=lambda c: (c.id not in mentored, _natural(c.name)))


def _own_class(session: Session, schools: dict[int | None, School], wanted: int
               ) -> SchoolClass | None:
    """The class a button names, if it is at one of the person's schools."""
    school_class = session.get(SchoolClass, wanted)
    return school_class if school_class is not None and school_class.school_id in schools else None


def _class_from_text(roll: _Roll, schools: dict[int | None, School], data: dict[str, Any],
                     text: str) -> Reply:
    """A class named ("7a") or numbered in a text."""
    classes = [c for c in (roll.session.get(SchoolClass, i) for i in data.get("classes", []))
               if c is not None and c.school_id in schools]
    said = "".join(fold(word) for word in words(text))
    for number, school_class in enumerate(classes, start=1):
        if said in (str(number), "".join(fold(word) for word in words(school_class.name))):
            return _open(roll, school_class)
    if not classes:
        return _start(roll, schools)
    return _ask_class(roll, classes, schools,
                      roll.t("Sorry, I did not find that class. Choose one, or write its name."))


def _students(session: Session, class_id: int) -> list[tuple[Student, str]]:
    """The class's students with their names, by name; a student with protected identity
    by the school's id ("#N003") only, like everywhere else staff see them."""
    return [
        (student, f"#{student.external_id}" if student.protected else name)
        for student, name in session.execute(
            select(Student, Person.name).join(Person, col(Person.id) == Student.person_id)
            .where(Student.class_id == class_id).order_by(Person.name, Student.external_id)
        ).all()
    ]


def _recorded(session: Session, student_ids: list[int], day: date) -> dict[int, Absence]:
    """The whole-day absences and late arrivals recorded for these students on `day`."""
    rows = session.execute(
        select(Absence).where(
            col(Absence.student_id).in_(student_ids), Absence.day == day,
            Absence.slot == "day", col(Absence.state).in_(RECORDED_STATES),
        )
    ).scalars()
    return {row.student_id: row for row in rows}


def _open(roll: _Roll, school_class: SchoolClass, lead: str | None = None) -> Reply:
    """Show the class's list for today, marked as recorded so far."""
    session = roll.session
    school = session.get(School, school_class.school_id)
    today = local_today(school, roll.now, session=session)
    if not calendar_for(session, school, policy_of(school)).is_school_day(today):
        clear_state(session, roll.person.id or 0)
        return Reply(roll.t("Today is not a school day, so there is no roll call to take."))
    students = _students(session, school_class.id or 0)
    if not students:
        clear_state(session, roll.person.id or 0)
        return Reply(roll.t("There are no students in {name}.", name=school_class.name))
    recorded = _recorded(session, [student.id or 0 for student, _name in students], today)
    marks = {str(sid): LATE if row.kind == LATE else ABSENT for sid, row in recorded.items()}
    data = {"class": school_class.id, "day": today.isoformat(), "marks": marks,
            "before": dict(marks)}
    taken = session.execute(
        select(RollCall.id).where(RollCall.class_id == school_class.id, RollCall.day == today)
    ).first() is not None
    lines = [lead] if lead else []
    lines.append(roll.t("Roll call for {name}, {day}.", name=school_class.name,
                        day=format_day(today, roll.person.language).rstrip(".")))
    if taken:
        lines.append(roll.t("It was already taken today: the marks show what is recorded. "
                            "Change what is wrong, then choose Send."))
    # The signs are values, not template text: a template must stay GSM-7 for SMS.
    lines.append(roll.t(
        "Choose a student to mark them absent ({absent_sign}), again for late ({late_sign}), "
        "and once more for present. You can also write their numbers or names. Then choose "
        "Send.",
        absent_sign=SIGNS[ABSENT], late_sign=SIGNS[LATE],
    ))
    return _show(roll, data, students, "\n".join(lines))


def _toggle(data: dict[str, Any], student_id: str) -> None:
    marks = dict(data.get("marks", {}))
    mark = NEXT_MARK[marks.get(student_id, PRESENT)]
    if mark == PRESENT:
        marks.pop(student_id, None)
    else:
        marks[student_id] = mark
    data["marks"] = marks


def _counts(data: dict[str, Any], students: list[tuple[Student, str]]) -> tuple[int, int]:
    """How many of the class are marked absent and late."""
    marks = data.get("marks", {})
    shown = [marks.get(str(student.id)) for student, _name in students]
    return shown.count(ABSENT), shown.count(LATE)


def _show(roll: _Roll, data: dict[str, Any], students: list[tuple[Student, str]],
          text: str | None = None) -> Reply:
    """Store the marks and render the list: a button per student, then Send and Cancel."""
    set_state(roll.session, roll.person.id or 0, dialog=DIALOG, step=MARKS, data=data,
              now=roll.now)
    if text is None:
        school_class = roll.session.get(SchoolClass, int(data["class"]))
        absent, late = _counts(data, students)
        text = roll.t("{name}: {absent} absent, {late} late. Choose Send when you are done.",
                      name=school_class.name if school_class else "", absent=absent, late=late)
    marks = data.get("marks", {})
    names = [name for _student, name in students]
    choices = []
    for student, name in students:
        label = name if names.count(name) == 1 else f"{name} ({student.external_id})"
        sign = SIGNS.get(marks.get(str(student.id), PRESENT))
        choices.append(Choice(RollMark(student.id or 0), f"{sign} {label}" if sign else label))
    choices += [Choice(RollSend(), roll.t("Send")), Choice(Cancel(), roll.t("Cancel"))]
    return Reply(text, tuple(choices))


def mentions(text: str, names: list[str]) -> tuple[list[int], list[str]]:
    """Which of `names` a text names or numbers (1-based), once per mention, in order, and
    the words that named nobody (or more than one: "Hassan" for two siblings).

    A student is named by full name, first name or last name, diacritics and case aside.
    """
    said = words(text)
    folded = [fold(word) for word in said]
    phrases: dict[tuple[str, ...], set[int]] = {}
    for index, name in enumerate(names):
        parts = name.split()
        for part in {name, parts[0], parts[-1]} if parts else set():
            key = tuple(fold(word) for word in words(part))
            if key:
                phrases.setdefault(key, set()).add(index)
    longest = max((len(key) for key in phrases), default=1)
    found: list[int] = []
    unclear: list[str] = []
    i = 0
    while i < len(folded):
        if folded[i].isdecimal():
            number = int(folded[i])
            if 1 <= number <= len(names):
                found.append(number - 1)
            else:
                unclear.append(said[i])
            i += 1
            continue
        for size in range(min(longest, len(folded) - i), 0, -1):
            matches = phrases.get(tuple(folded[i:i + size]))
            if matches is not None:
                if len(matches) == 1:
                    found.append(next(iter(matches)))
                else:
                    unclear.append(" ".join(said[i:i + size]))
                i += size
                break
        else:
            if folded[i] not in JOINERS:
                unclear.append(said[i])
            i += 1
    return found, unclear


def _marks_from_text(roll: _Roll, data: dict[str, Any], students: list[tuple[Student, str]],
                     text: str) -> Reply:
    """Numbers or names toggle those students; "send" (or "ok") sends."""
    found, unclear = mentions(text, [name for _student, name in students])
    if not found:
        if parse_yes_no(text, roll.person.language) is True:
            return _save(roll, data)
        return _show(roll, data, students, roll.t(
            "Sorry, I did not understand. Write the students' numbers or names to change "
            "their marks, or choose Send."))
    for index in found:
        _toggle(data, str(students[index][0].id))
    reply = _show(roll, data, students)
    if unclear:
        lead = roll.t("I could not tell who this is: {words}. Write the number or the full name.",
                      words=", ".join(f"“{word}”" for word in unclear))
        reply = Reply(f"{lead}\n{reply.text}", reply.choices)
    return reply


def _save(roll: _Roll, data: dict[str, Any]) -> Reply:
    """Record the marks for today; a student un-marked since the list opened is present."""
    session = roll.session
    school_class = session.get(SchoolClass, int(data["class"]))
    if school_class is None:
        clear_state(session, roll.person.id or 0)
        return Reply(roll.t("That roll call is finished. Write /roll to take a new one."))
    school = session.get(School, school_class.school_id)
    today = local_today(school, roll.now, session=session)
    if data.get("day") != today.isoformat():
        return _open(roll, school_class, roll.t("A new day has begun: here is today's list."))
    students = _students(session, school_class.id or 0)
    ids = [student.id or 0 for student, _name in students]
    marks, before = data.get("marks", {}), data.get("before", {})
    recorded = _recorded(session, ids, today)
    records = []
    for student_id in ids:
        mark = marks.get(str(student_id), PRESENT)
        row = recorded.get(student_id)
        if mark == PRESENT and (str(student_id) not in before or row is None):
            continue  # present, and nothing shown absent to correct
        # A late arrival keeps the minutes an import gave it.
        minutes = row.minutes_late if row is not None and row.kind == mark == LATE else None
        records.append(AttendanceRecord(0, today, student_id, mark, None, None, minutes))
    taken_by = roll.person.id
    counts = {"withdrawn": 0}
    if records:
        counts = apply_attendance(session, records, now=roll.now, source="roll",
                                  actor=f"person:{taken_by}", taken_by=taken_by)
    record_roll_call(session, school_class.id or 0, today, source="roll", now=roll.now,
                     taken_by=taken_by)
    clear_state(session, roll.person.id or 0)
    absent, late = _counts(data, students)
    log.info("roll call: class %s on %s by person %s: %d absent, %d late, %d withdrawn",
             school_class.id, today, taken_by, absent, late, counts["withdrawn"])
    text = roll.t("Roll call for {name} saved: {absent} absent, {late} late.",
                  name=school_class.name, absent=absent, late=late)
    if counts["withdrawn"]:
        text += " " + ngettext_for(roll.person.language, "{n} earlier absence withdrawn.",
                                   "{n} earlier absences withdrawn.", counts["withdrawn"])
    return Reply(text)
