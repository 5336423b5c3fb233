"""Leave applications by chat: a guardian (or an adult student) applies, the school decides.

The guardian applies in their own words ("Kan Elsa vara ledig 15–19 mars? Vi ska till
mormor i Umeå"), with `/leave` or the menu's *Apply for leave*: which children, which
days (or hours of one), and why. Only what is missing is asked. Each child's application
goes to its decider (by length: the mentor up to the school's limit, else the
principal) with the child's absence this term and what the school calendar has in the
period, and buttons: *Grant*, *Refuse* (a reason chosen or written), *Choose days* (day
by day: a part grant) and *Ask a question* (sent to the guardian; their answer comes
back to the decider). The guardian hears the decision in their language, with the days;
refused days are said to be unexcused if the child is away. The applicant's words go to
the deciders only. States: `leave.mmd`.

Entry points (for the inbox's router): `owns`/`act` for buttons, `claims_text`/`advance`
for free text in the dialog, `begin` for `/leave` and the menu's choice (`APPLY`),
`start_from_text` (or `policy.leave.is_leave_request` as the predicate) for a first
message that asks for leave (before a report is read from it); `route` strings them
together for today's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from handlers.messages import Choice, Reply
from handlers.report_dialog import Reportable, join_names
from handlers.schooltime import calendar_for, local_now
from locales import N_, gettext_for
from locales.formats import first_name, format_day, format_days, format_span
from policy.calendar import SchoolCalendar
from policy.freetext import match_child, parse_reason
from policy.ladder import term_of
from policy.leave import (
    GRANTED,
    HORIZON_DAYS,
    MAX_SPAN_DAYS,
    PENDING,
    REFUSALS,
    is_leave_request,
)
from policy.reading import read
from policy.routing import AUTO
from storage.conversations import clear_state, get_state, set_state
from storage.leave import (
    absence_counts,
    calendar_events,
    create_application,
    days_of,
    decide,
    may_decide,
)
from storage.models import ConversationState, LeaveApplication, Person, School, Student
from storage.outbox import enqueue
from storage.schools import policy_of
from storage.tasks import student_label

DIALOG = "leave"
COMMAND = "/leave"
#: The guardian's steps, and the decider's.
CHILD, DAYS, WHY, ANSWER = "child", "days", "why", "answer"
DAY, REASON, QUESTION = "day", "reason", "question"
#: Every choice of this dialog starts with this; `APPLY` is the menu's (a "menu:" key, so
#: that an SMS lists it with the menu's words, not as a numbered answer).
PREFIX = "leave:"
APPLY = "menu:leave"
MAX_NOTE = 300
MAX_REASON = 200
MAX_QUESTION = 300
#: What a decider's choice does, as `leave:<action>:<application>[:<value>]`.
_ACTIONS = frozenset({"child", "grant", "refuse", "days", "ask", "dg", "dr", "rg", "rr",
                      "why"})
EVENT_LABELS = {
    "exam": N_("National exam"), "tests": N_("Test week"), "event": N_("School event"),
    "term_start": N_("Term starts"),
}
REFUSAL_LABELS = {
    "exam": N_("National exams in the period"), "tests": N_("Tests in the period"),
    "absence": N_("Too much absence this term"), "other": N_("Another reason"),
}


def pack(action: str, *fields: object) -> str:
    """A choice key of this dialog (Telegram allows 64 bytes)."""
    key = ":".join([PREFIX.rstrip(":"), action, *(str(field) for field in fields)])
    assert len(key.encode()) <= 64, key
    return key


def unpack(choice: str) -> tuple[str, list[str]]:
    """The action and fields of one of this dialog's choice keys ("", [] if none)."""
    if choice == APPLY:
        return "apply", []
    parts = choice.split(":")
    if len(parts) < 2 or parts[0] != PREFIX.rstrip(":") or parts[1] not in _ACTIONS:
        return "", []
    return parts[1], parts[2:]


def owns(choice: str | None) -> bool:
    """Whether a choice belongs to a leave application (applying or deciding)."""
    return bool(choice) and unpack(choice or "")[0] != ""


def claims(state: ConversationState | None) -> bool:
    """Whether the person is in a leave dialog (the guardian's or the decider's)."""
    return state is not None and state.dialog == DIALOG


def claims_text(state: ConversationState | None, text: str) -> bool:
    """Whether these words continue the leave dialog: any answer to its question, except
    that a guardian asked a question who writes that a child is sick reports it instead."""
    if not claims(state):
        return False
    assert state is not None
    return not (state.step == ANSWER and parse_reason(text) in ("sick", "medical"))


@dataclass(frozen=True)
class _in:  # reads as `_in(person).t("…")`, which Babel extracts as `t`
    """Texts in one person's language."""

    person: Person

    def t(self, message: str, **values: object) -> str:
        """`message` in the person's language."""
        return gettext_for(self.person.language, message, **values)


# ---------------------------------------------------------------- the guardian applies


@dataclass
class _Form:
    """A guardian's application so far."""

    session: Session
    person: Person
    students: list[Reportable]
    data: dict[str, Any]
    now: datetime

    @property
    def chosen(self) -> list[Reportable]:
        ids = self.data.get("students") or []
        return [r for r in self.students if r.student.id in ids]

    def school(self) -> School | None:
        chosen = self.chosen or self.students
        return self.session.get(School, chosen[0].student.school_id) if chosen else None

    def today(self) -> date:
        return local_now(self.school(), self.now).date()

    def calendar(self) -> SchoolCalendar:
        school = self.school()
        return calendar_for(self.session, school, policy_of(school))


def begin(session: Session, person: Person, students: list[Reportable], *, channel: str,
          now: datetime) -> Reply:
    """/leave or the menu's *Apply for leave*: ask for whom (skipped with one child)."""
    form = _Form(session, person, students, {"channel": channel, "asked": True}, now)
    if len(students) == 1:
        form.data["students"] = [students[0].student.id]
    return _next(form)


def start_from_text(session: Session, person: Person, students: list[Reportable], text: str,
                    *, channel: str, now: datetime) -> Reply | None:
    """A first message that asks for leave: apply at once when it says who and which days
    (its words are the note), else ask what is missing. None when it asks for no leave."""
    if not students or not is_leave_request(text):
        return None
    form = _Form(session, person, students, {"channel": channel}, now)
    if len(students) == 1:
        form.data["students"] = [students[0].student.id]
    _read_into(form, text)
    form.data["note"] = text[:MAX_NOTE]
    return _next(form)


def _read_into(form: _Form, text: str) -> bool:
    """Put the children and days a message names into the form; True if it named any."""
    today = form.today()
    reading = read(text, [r.name for r in form.students], form.person.language, today,
                   start=today)
    understood = False
    if reading.children:
        form.data["students"] = [form.students[i].student.id for i in reading.children
                                 if i < len(form.students)]
        understood = True
    if reading.span is not None:
        span = reading.span
        form.data.update(first=span.first.isoformat(), last=span.last.isoformat(),
                         part_start=span.part_start.strftime("%H:%M") if span.part_start
                         else None,
                         part_end=span.part_end.strftime("%H:%M") if span.part_end else None)
        understood = True
    return understood


def _days(form: _Form) -> tuple[list[date], str | None]:
    """The school days applied for, or why they cannot be."""
    first, last = date.fromisoformat(form.data["first"]), date.fromisoformat(form.data["last"])
    today = form.today()
    span = format_span(first, last, None, None, form.person.language).rstrip(".")
    if first < today:
        return [], _in(form.person).t("Leave is applied for before the days: {days} has begun "
                      "or passed. To report an absence, write it as usual.", days=span)
    if (last - first).days > MAX_SPAN_DAYS:
        return [], _in(form.person).t("That is too long for one application; please contact "
                      "the school.")
    if last > today + timedelta(days=HORIZON_DAYS):
        return [], _in(form.person).t("You can apply at most a year ahead.")
    days = form.calendar().school_days(first, last)
    if not days:
        return [], _in(form.person).t("{days} is not a school day, so no leave is needed.",
                      days=span)
    return days, None


def _next(form: _Form, lead: str | None = None) -> Reply:
    if not form.chosen:
        return _ask(form, CHILD, lead)
    if "first" not in form.data:
        return _ask(form, DAYS, lead)
    days, problem = _days(form)
    if problem is not None:
        for key in ("first", "last", "part_start", "part_end"):
            form.data.pop(key, None)
        return _ask(form, DAYS, problem)
    if not form.data.get("note"):
        return _ask(form, WHY, lead)
    return _apply(form, days)


def _ask(form: _Form, step: str, lead: str | None = None) -> Reply:
    set_state(form.session, form.person.id or 0, dialog=DIALOG, step=step, data=form.data,
              now=form.now)
    person = form.person
    if step == CHILD:
        firsts = [first_name(r.name) for r in form.students]
        choices = [Choice(pack("child", r.student.id), first_name(r.name)
                          if firsts.count(first_name(r.name)) == 1 else r.name)
                   for r in form.students]
        if len(choices) > 1:
            choices.append(Choice(pack("child", "all"), _in(person).t("All of them")))
        question, shown = _in(person).t("For whom do you apply for leave?"), tuple(choices)
    elif step == DAYS:
        names = join_names([first_name(r.name) for r in form.chosen], person.language)
        question, shown = _in(person).t(
            "Which days do you apply for leave for {name}? A date (15/3), a range "
            "(15/3–19/3) or hours (15/3 08:15–10:00).", name=names), ()
    else:
        question, shown = _in(person).t(
            "Why? Write it in a few words. Only those who decide at the school read it."), ()
    return Reply(f"{lead}\n\n{question}" if lead else question, shown)


def _apply(form: _Form, days: list[date]) -> Reply:
    """Store one application per chosen child, send each to its decider, and answer with
    the receipt."""
    clear_state(form.session, form.person.id or 0)
    part_start, part_end = form.data.get("part_start"), form.data.get("part_end")
    start = time.fromisoformat(part_start) if part_start else None
    end = time.fromisoformat(part_end) if part_end and start else None
    applications = []
    for chosen in form.chosen:
        application = create_application(
            form.session, student=chosen.student, applicant=form.person,
            channel=str(form.data.get("channel", "chat")), days=days,
            part_start=start if end else None, part_end=end, note=form.data.get("note"),
            now=form.now)
        applications.append(application)
        send_to_decider(form.session, application, now=form.now)
    person = form.person
    names = join_names([first_name(r.name) for r in form.chosen], person.language)
    span = format_span(days[0], days[-1], start if end else None, end,
                       person.language).rstrip(".")
    return Reply(_in(person).t(
        # Translators: the receipt of a leave application. {name}: first names; {days}:
        # formatted dates; {n}: how many school days; {ref}: references such as L-7K3QF.
        "Application sent: leave for {name}, {days} ({n} school days). Ref. {ref}. The "
        "school will answer you here.", name=names, days=span, n=len(days),
        ref=", ".join(a.reference for a in applications)))


def advance(session: Session, person: Person, students: list[Reportable],
            state: ConversationState, text: str, *, now: datetime) -> Reply:
    """Free text in a leave dialog: the guardian's answer to the current question (or to a
    decider's question), or the decider's reason or question."""
    if state.step in (REASON, QUESTION):
        return _decider_text(session, person, state, text, now=now)
    if state.step == ANSWER:
        return _guardian_answer(session, person, state, text, now=now)
    form = _Form(session, person, students, dict(state.data), now)
    if state.step == WHY:
        form.data["note"] = text[:MAX_NOTE]
        return _next(form)
    if state.step == CHILD:
        index = match_child(text, [r.name for r in students])
        if index is not None:
            form.data["students"] = [students[index].student.id]
    understood = _read_into(form, text) or (state.step == CHILD and bool(form.chosen))
    if not understood:
        lead = (_in(person).t("Sorry, I did not understand that date.") if state.step == DAYS
                else _in(person).t("Sorry, I did not understand. Which child do you mean?"))
        return _ask(form, state.step, lead)
    return _next(form)


def act(session: Session, person: Person, students: list[Reportable], choice: str, *,
        channel: str, now: datetime) -> Reply:
    """A tapped button (or numbered SMS answer) of a leave application."""
    action, fields = unpack(choice)
    if action == "apply":
        clear_state(session, person.id or 0)
        return begin(session, person, students, channel=channel, now=now)
    if action == "child":
        state = get_state(session, person.id or 0)
        data = dict(state.data) if state is not None and state.dialog == DIALOG else {
            "channel": channel, "asked": True}
        form = _Form(session, person, students, data, now)
        if fields and fields[0] == "all":
            form.data["students"] = [r.student.id for r in students]
        elif fields and any(str(r.student.id) == fields[0] for r in students):
            form.data["students"] = [int(fields[0])]
        return _next(form)
    return _decide_choice(session, person, action, fields, now=now)


# ---------------------------------------------------------------- the school decides


def _application(session: Session, fields: list[str]) -> LeaveApplication | None:
    try:
        return session.get(LeaveApplication, int(fields[0]))
    except (IndexError, ValueError):
        return None


def _student_text(session: Session, application: LeaveApplication) -> str:
    student = session.get(Student, application.student_id)
    return student_label(session, student) if student else "-"


def _events_text(session: Session, application: LeaveApplication, language: str,
                 days: list[date] | None = None) -> str:
    student = session.get(Student, application.student_id)
    if student is None:
        return ""
    first = min(days) if days else application.first_day
    last = max(days) if days else application.last_day
    lines = []
    for kind, name, start, end in calendar_events(session, student.school_id, first, last):
        label = gettext_for(language, EVENT_LABELS.get(kind, EVENT_LABELS["event"]))
        when = format_span(start, end, None, None, language).rstrip(".")
        lines.append(f"{label}: {name} ({when})" if name else f"{label} ({when})")
    return "; ".join(lines)


def decider_text(session: Session, application: LeaveApplication, language: str, *,
                 lead: str | None = None, now: datetime | None = None) -> str:
    """The application as its decider reads it: the student, the days, the applicant's
    words, the absence this term, and what the school calendar has in the period."""
    student = session.get(Student, application.student_id)
    applicant = session.get(Person, application.applicant_id)
    school = session.get(School, student.school_id) if student else None
    days = [row.day for row in days_of(session, application.id or 0)]
    span = format_span(application.first_day, application.last_day, application.part_start,
                       application.part_end, language).rstrip(".")
    lines = [lead] if lead else []
    lines.append(gettext_for(
        language,
        # Translators: to the staff member who decides. {ref}: L-7K3QF; {student}: "Name
        # (class)"; {days}: the dates; {n}: school days.
        "Leave application {ref}: {student}, {days} ({n} school days).",
        ref=application.reference, student=_student_text(session, application), days=span,
        n=len(days)))
    if application.note:
        lines.append(gettext_for(language, "From {name}: “{note}”",
                                 name=applicant.name if applicant else "-",
                                 note=application.note))
    if student is not None and school is not None:
        calendar = calendar_for(session, school, policy_of(school))
        today = local_now(school, now or application.applied_at).date()
        term = term_of(calendar, today)
        counts = absence_counts(session, student.id or 0, term.start, today)
        lines.append(gettext_for(
            language,
            # Translators: {days} whole or part days absent this term, of them {unexcused}
            # without a valid reason and {leave} on leave the school granted.
            "Absence this term: {days} days ({unexcused} unexcused, {leave} granted leave).",
            days=counts["days"], unexcused=counts["unexcused"], leave=counts["leave"]))
    events = _events_text(session, application, language)
    lines.append(gettext_for(language, "In the period: {events}", events=events) if events
                 else gettext_for(language, "Nothing in the school calendar in the period."))
    return "\n".join(lines)


def decision_choices(application: LeaveApplication, language: str) -> tuple[Choice, ...]:
    """Grant, Refuse, Choose days (with more than one day), Ask a question."""
    number = application.id or 0
    choices = [Choice(pack("grant", number), gettext_for(language, "Grant")),
               Choice(pack("refuse", number), gettext_for(language, "Refuse"))]
    if application.first_day != application.last_day:
        choices.append(Choice(pack("days", number), gettext_for(language, "Choose days")))
    choices.append(Choice(pack("ask", number), gettext_for(language, "Ask a question")))
    return tuple(choices)


def send_to_decider(session: Session, application: LeaveApplication, *, now: datetime,
                    lead: str | None = None, key: str = "apply") -> bool:
    """Put the application in its decider's chat with the decision buttons (once per
    `key`)."""
    decider = session.get(Person, application.decider_id) if application.decider_id else None
    if decider is None:
        return False
    language = decider.language
    return enqueue(
        session, dedupe_key=f"leave:{key}:{application.id}:{decider.id}",
        recipient_id=decider.id, channel=AUTO, language=language, now=now,
        text=decider_text(session, application, language, lead=lead, now=now),
        choices=[c.as_dict() for c in decision_choices(application, language)])


def _decide_choice(session: Session, person: Person, action: str, fields: list[str], *,
                   now: datetime) -> Reply:
    application = _application(session, fields)
    if (application is None or application.status != PENDING
            or not may_decide(session, application, person)):
        clear_state(session, person.id or 0)
        return Reply(_in(person).t(
            "That application is not yours to decide, or it is already decided."))
    pending = [row.day for row in days_of(session, application.id or 0)
               if row.decision == PENDING]
    base: dict[str, Any] = {"application": application.id, "granted": [], "refused": []}
    if action == "grant":
        return _settle(session, person, application, pending, [], None, None, now=now)
    if action == "refuse":
        return _ask_reason(session, person, application, {**base, "refused": _iso(pending)},
                           now=now)
    if action == "days":
        return _ask_day(session, person, application, base, now=now)
    if action == "ask":
        set_state(session, person.id or 0, dialog=DIALOG, step=QUESTION,
                  data={"application": application.id}, now=now)
        return Reply(_in(person).t("Write your question to the guardian."))
    state = get_state(session, person.id or 0)
    data = dict(state.data) if state is not None and state.dialog == DIALOG and \
        state.data.get("application") == application.id else dict(base)
    if action in ("dg", "dr", "rg", "rr"):
        left = [day for day in pending if day.isoformat() not in
                data["granted"] + data["refused"]]
        if not left:
            return _ask_day(session, person, application, data, now=now)
        chosen = left[:1] if action in ("dg", "dr") else left
        into = "granted" if action in ("dg", "rg") else "refused"
        data[into] = data[into] + _iso(chosen)
        return _ask_day(session, person, application, data, now=now)
    if action == "why" and not data["refused"]:
        # a reason's button from a dialog since forgotten: nothing to give it to; offer again
        clear_state(session, person.id or 0)
        return Reply(decider_text(session, application, person.language, now=now),
                     decision_choices(application, person.language))
    if action == "why" and len(fields) > 1 and fields[1] in REFUSALS:
        return _settle(session, person, application, _dates(data["granted"]),
                       _dates(data["refused"]), fields[1], None, now=now)
    return _ask_reason(session, person, application, data, now=now)


def _iso(days: list[date]) -> list[str]:
    return [day.isoformat() for day in days]


def _dates(days: list[str]) -> list[date]:
    return [date.fromisoformat(day) for day in days]


def _ask_day(session: Session, person: Person, application: LeaveApplication,
             data: dict[str, Any], *, now: datetime) -> Reply:
    """The next day to decide, or (all decided) the reason for refused ones, or the end."""
    pending = [row.day for row in days_of(session, application.id or 0)
               if row.decision == PENDING]
    decided = set(data["granted"] + data["refused"])
    left = [day for day in pending if day.isoformat() not in decided]
    if not left:
        if data["refused"]:
            return _ask_reason(session, person, application, data, now=now)
        return _settle(session, person, application, _dates(data["granted"]), [], None, None,
                       now=now)
    set_state(session, person.id or 0, dialog=DIALOG, step=DAY, data=data, now=now)
    day = left[0]
    language = person.language
    events = _events_text(session, application, language, [day])
    label = format_day(day, language).rstrip(".")
    question = _in(person).t("{ref}: leave on {day}? ({n} of {total})",
                  ref=application.reference, day=label,
                  n=len(pending) - len(left) + 1, total=len(pending))
    if events:
        question += "\n" + events
    number = application.id or 0
    choices = [Choice(pack("dg", number), _in(person).t("Grant")),
               Choice(pack("dr", number), _in(person).t("Refuse"))]
    if len(left) > 1:
        choices += [Choice(pack("rg", number), _in(person).t("Grant the rest")),
                    Choice(pack("rr", number), _in(person).t("Refuse the rest"))]
    return Reply(question, tuple(choices))


def _ask_reason(session: Session, person: Person, application: LeaveApplication,
                data: dict[str, Any], *, now: datetime) -> Reply:
    set_state(session, person.id or 0, dialog=DIALOG, step=REASON, data=data, now=now)
    number = application.id or 0
    choices = tuple(Choice(pack("why", number, key), _in(person).t(REFUSAL_LABELS[key]))
                    for key in REFUSALS if key != "other")
    return Reply(_in(person).t("Why is it refused? Choose, or write a short reason (the "
                            "guardian reads it)."), choices)


def _decider_text(session: Session, person: Person, state: ConversationState, text: str, *,
                  now: datetime) -> Reply:
    application = session.get(LeaveApplication, int(state.data.get("application") or 0))
    if (application is None or application.status != PENDING
            or not may_decide(session, application, person)):
        clear_state(session, person.id or 0)
        return Reply(_in(person).t("That application is not yours to decide, or it is already "
                                "decided."))
    if state.step == REASON:
        if len(text) > MAX_REASON:
            return Reply(_in(person).t("Please keep the reason under {n} characters.",
                            n=MAX_REASON))
        return _settle(session, person, application, _dates(state.data.get("granted", [])),
                       _dates(state.data.get("refused", [])), "other", text, now=now)
    clear_state(session, person.id or 0)
    applicant = session.get(Person, application.applicant_id)
    if applicant is None:
        return Reply(_in(person).t("The guardian can no longer be reached here."))
    names = _child_name(session, application)
    span = format_span(application.first_day, application.last_day, application.part_start,
                       application.part_end, applicant.language).rstrip(".")
    enqueue(session, dedupe_key=f"leave:question:{application.id}:{now.isoformat()}",
            recipient_id=applicant.id, channel=AUTO, language=applicant.language, now=now,
            text=gettext_for(
                applicant.language,
                # Translators: a decider's question, quoted after the colon.
                "A question from the school about your leave application {ref} for {name} "
                "({days}): {question}\nAnswer by writing here.",
                ref=application.reference, name=names, days=span,
                question=text[:MAX_QUESTION]))
    set_state(session, applicant.id or 0, dialog=DIALOG, step=ANSWER,
              data={"application": application.id, "asker": person.id}, now=now)
    return Reply(_in(person).t("Your question was sent to the guardian. Their answer will come "
                            "here."))


def _guardian_answer(session: Session, person: Person, state: ConversationState, text: str,
                     *, now: datetime) -> Reply:
    clear_state(session, person.id or 0)
    application = session.get(LeaveApplication, int(state.data.get("application") or 0))
    asker = session.get(Person, int(state.data.get("asker") or 0))
    if application is None or application.applicant_id != person.id or asker is None:
        return Reply(_in(person).t("Thank you."))
    language = asker.language
    lead = gettext_for(language, "Answer from {name} about {ref}: “{answer}”",
                       name=person.name, ref=application.reference,
                       answer=text[:MAX_QUESTION])
    enqueue(session, dedupe_key=f"leave:answer:{application.id}:{now.isoformat()}",
            recipient_id=asker.id, channel=AUTO, language=language, now=now,
            text=decider_text(session, application, language, lead=lead, now=now),
            choices=[c.as_dict() for c in decision_choices(application, language)]
            if application.status == PENDING else None)
    return Reply(_in(person).t("Thank you, your answer was passed on to the school."))


def _child_name(session: Session, application: LeaveApplication) -> str:
    student = session.get(Student, application.student_id)
    child = session.get(Person, student.person_id) if student else None
    return first_name(child.name) if child else "-"


def _settle(session: Session, person: Person, application: LeaveApplication,
            granted: list[date], refused: list[date], refusal: str | None,
            refusal_note: str | None, *, now: datetime) -> Reply:
    clear_state(session, person.id or 0)
    settle(session, application, granted=granted, refused=refused, by=person,
           refusal=refusal, refusal_note=refusal_note, now=now)
    language = person.language
    parts = []
    if granted:
        parts.append(_in(person).t("granted: {days}",
                                   days=format_days(granted, language).rstrip(".")))
    if refused:
        parts.append(_in(person).t("refused: {days}",
                                   days=format_days(refused, language).rstrip(".")))
    return Reply(_in(person).t("Decided, {ref} ({student}): {what}. The guardian has been told.",
                    ref=application.reference, student=_student_text(session, application),
                    what="; ".join(parts)))


def settle(session: Session, application: LeaveApplication, *, granted: list[date],
           refused: list[date], by: Person | None, refusal: str | None,
           refusal_note: str | None, now: datetime) -> None:
    """Decide days of the application (`storage.leave.decide`) and tell the applicant, in
    their language, with the days; refused days are said to be unexcused."""
    decided = decide(session, application, granted=granted, refused=refused, by=by,
                     refusal=refusal, refusal_note=refusal_note, now=now)
    applicant = session.get(Person, application.applicant_id)
    if applicant is None or not (decided.granted or decided.refused):
        return
    language = applicant.language
    name = _child_name(session, application)
    lines = []
    if decided.granted:
        lines.append(gettext_for(
            language, "Leave granted for {name}: {days}.", name=name,
            days=_days_text(application, list(decided.granted), language)))
    if decided.refused:
        lines.append(gettext_for(
            language,
            # Translators: to the guardian; {days}: the refused dates.
            "Leave not granted for {name}: {days}. Absence on those days will be unexcused.",
            name=name, days=_days_text(application, list(decided.refused), language)))
        why = (refusal_note or "").strip() or gettext_for(
            language, REFUSAL_LABELS.get(refusal or "other", REFUSAL_LABELS["other"]))
        lines.append(gettext_for(language, "Reason: {reason}", reason=why))
    lines.append(gettext_for(language, "Ref. {ref}.", ref=application.reference))
    enqueue(session, dedupe_key=f"leave:decision:{application.id}:{now.isoformat()}",
            recipient_id=applicant.id, channel=AUTO, language=language, now=now,
            text="\n".join(lines))


def _days_text(application: LeaveApplication, days: list[date], language: str) -> str:
    text = format_days(sorted(days), language).rstrip(".")
    if application.part_start and application.part_end:
        text += f" {application.part_start:%H:%M}–{application.part_end:%H:%M}"
    return text


def granted_days(session: Session, application: LeaveApplication) -> list[date]:
    """The application's granted days."""
    return [row.day for row in days_of(session, application.id or 0)
            if row.decision == GRANTED]


def route(session: Session, person: Person, students: list[Reportable], choice: str | None,
          text: str, command: str, *, channel: str, now: datetime) -> Reply | None:
    """Today's inbox hook (until the router registers the entry points themselves): a leave
    button, `/leave`, free text in a leave dialog, or a first message asking for leave;
    None for anything else."""
    if owns(choice):
        return act(session, person, students, choice or "", channel=channel, now=now)
    if choice:
        return None
    if command == COMMAND and students:
        clear_state(session, person.id or 0)
        return begin(session, person, students, channel=channel, now=now)
    state = get_state(session, person.id or 0)
    if claims(state) and not command:
        assert state is not None
        if not claims_text(state, text):
            clear_state(session, person.id or 0)  # "Ali sjuk idag" is a report, no answer
            return None
        return advance(session, person, students, state, text, now=now)
    if command:
        return None
    return start_from_text(session, person, students, text, channel=channel, now=now)
