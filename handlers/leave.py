"""Leave applications by chat: a guardian (or an adult student) applies, the school decides.

The guardian applies in their own words ("Kan Elsa vara ledig 15–19 mars? Vi ska till
mormor i Umeå"), with `/leave` or the menu's *Apply for leave*: which children, which
days (or hours of one), and why. Only what is missing is asked. Each child's application
goes to its decider (by length: the mentor up to the school's limit, else the
principal) with the child's absence this term and what the school calendar has in the
period, and buttons: *Grant*, *Refuse* (a reason chosen or written), *Choose days* (day
by day: a part grant) and *Ask a question* (sent to the guardian; their answer comes
back to the decider). The guardian hears the decision in their language, with the days;
refused days are said to be unexcused if the child is away. Until a day is decided the
applicant may take the application back: the receipt's *Withdraw* (numbered by SMS),
`/withdraw`, or the reference with a word that takes it back ("återkalla L-7K3QF",
"avbryt L-7K3QF"). The applicant's words go to the deciders only. States: `leave.mmd`.

Entry points (routed in `handlers.routes`): `act` for every leave button (the guardian's
child picks, the decider's decisions), `advance` for free text in the dialog (when
`claims_text`), `begin` for `/leave` and the menu's *Apply for leave*, `start_from_text`
for a message that asks for leave (`policy.leave.is_leave_request`), `withdraw` for the
receipt's button, `/withdraw` and the words that take an application back. What the scheduler
and the command line share with the chat (sending to the decider, deciding and telling
the guardian) is `services.leave`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from handlers.messages import Choice, Context, Reply
from handlers.report_dialog import Turn, join_names
from locales import gettext_for
from locales.formats import first_name, format_day, format_days, format_span
from policy.calendar import SchoolCalendar
from policy.choices import (
    LEAVE_ACTIONS,
    LeaveAllChildren,
    LeaveChild,
    LeaveDecision,
    LeaveWithdraw,
)
from policy.freetext import match_child, parse_reason
from policy.leave import (
    HORIZON_DAYS,
    MAX_SPAN_DAYS,
    PENDING,
    REFUSALS,
    WITHDRAWN,
    is_leave_request,
    withdrawal_reference,
)
from policy.reading import read
from services.leave import (
    REFUSAL_LABELS,
    ask_guardian,
    child_name,
    decider_text,
    decision_keys,
    events_text,
    pass_answer,
    send_to_decider,
    settle,
    student_text,
    withdraw_application,
)
from storage.conversations import clear_state, set_state
from storage.leave import (
    create_application,
    days_of,
    may_decide,
    own_application,
    withdrawable_of,
)
from storage.models import ConversationState, LeaveApplication, Person

DIALOG = "leave"
COMMAND = "/leave"
WITHDRAW_COMMAND = "/withdraw"
#: The guardian's steps, and the decider's.
CHILD, DAYS, WHY, ANSWER = "child", "days", "why", "answer"
GUARDIAN_STEPS = (CHILD, DAYS, WHY, ANSWER)
DAY, REASON, QUESTION = "day", "reason", "question"
MAX_NOTE = 300
MAX_REASON = 200


def claims_text(context: Context) -> bool:
    """Whether these words continue the open leave dialog: any answer to its question,
    except that a guardian asked a question who writes that a child is sick reports it
    instead; that question is then closed (and the words go on to the report)."""
    state = context.state
    if state is None or state.dialog != DIALOG:
        return False
    if state.step in GUARDIAN_STEPS and withdrawal_reference(context.text) is not None:
        return False  # taking an application back (`withdraw`), whatever was asked
    if state.step == ANSWER and parse_reason(context.text) in ("sick", "medical"):
        clear_state(context.session, context.person_id)
        context.state = None
        return False
    return True


def _choices(keys: list[tuple[LeaveDecision, str]]) -> tuple[Choice, ...]:
    return tuple(Choice(key, label) for key, label in keys)


@dataclass(frozen=True)
class _in:  # reads as `_in(person).t("…")`, which Babel extracts as `t`
    """Texts in one person's language."""

    person: Person

    def t(self, message: str, **values: Any) -> str:
        """`message` in the person's language."""
        return gettext_for(self.person.language, message, **values)


# ---------------------------------------------------------------- the guardian applies


class _Form(Turn):
    """A guardian's application so far: a report dialog's form (who writes, for whom, the
    school's calendar and local date), with the leave dialog's own steps."""

    def today(self) -> date:
        """The school's local date."""
        return self.context()[2]

    def calendar(self) -> SchoolCalendar:
        """The school's calendar."""
        return self.context()[0]


def begin(context: Context) -> Reply:
    """/leave or the menu's *Apply for leave*: ask for whom (skipped with one child)."""
    clear_state(context.session, context.person_id)
    context.state = None
    students = context.students
    form = _Form(context.session, context.person, students,
                 {"channel": context.incoming.channel, "asked": True}, context.now)
    if len(students) == 1:
        form.data["students"] = [students[0].student.id]
    return _next(form)


def start_from_text(context: Context) -> Reply | None:
    """A first message that asks for leave: apply at once when it says who and which days
    (its words are the note), else ask what is missing. None when it asks for no leave."""
    students, text = context.students, context.text
    if not students or not is_leave_request(text):
        return None
    form = _Form(context.session, context.person, students,
                 {"channel": context.incoming.channel}, context.now)
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
        choices = [Choice(LeaveChild(r.student.id or 0), first_name(r.name)
                          if firsts.count(first_name(r.name)) == 1 else r.name)
                   for r in form.students]
        if len(choices) > 1:
            choices.append(Choice(LeaveAllChildren(), _in(person).t("All of them")))
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
    withdrawing: tuple[Choice, ...]
    if len(applications) == 1:
        withdrawing = (Choice(LeaveWithdraw(applications[0].id or 0),
                              _in(person).t("Withdraw the application")),)
    else:
        withdrawing = tuple(Choice(LeaveWithdraw(a.id or 0),
                                   _in(person).t("Withdraw {ref}", ref=a.reference))
                            for a in applications)
    return Reply(_in(person).t(
        # Translators: the receipt of a leave application. {name}: first names; {days}:
        # formatted dates; {n}: how many school days; {ref}: references such as L-7K3QF.
        "Application sent: leave for {name}, {days} ({n} school days). Ref. {ref}. The "
        "school will answer you here.", name=names, days=span, n=len(days),
        ref=", ".join(a.reference for a in applications)), withdrawing)


def advance(context: Context) -> Reply:
    """Free text in a leave dialog: the guardian's answer to the current question (or to a
    decider's question), or the decider's reason or question."""
    session, person, students, text, now = (context.session, context.person,
                                            context.students, context.text, context.now)
    state = context.state
    assert state is not None  # routed with dialog(DIALOG)
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


def act(context: Context) -> Reply:
    """A tapped button (or numbered SMS answer) of a leave application: the guardian's
    child picked, or a decider's decision (for the decider or a principal only)."""
    key = context.choice
    if isinstance(key, LeaveDecision):
        return _decide_choice(context.session, context.person, context.state, key,
                              now=context.now)
    students = context.students
    if not students:
        return Reply(_in(context.person).t("That question is no longer open."))
    state = context.state
    data = dict(state.data) if state is not None and state.dialog == DIALOG else {
        "channel": context.incoming.channel, "asked": True}
    form = _Form(context.session, context.person, students, data, context.now)
    if isinstance(key, LeaveAllChildren):
        form.data["students"] = [r.student.id for r in students]
    elif isinstance(key, LeaveChild) and any(r.student.id == key.student for r in students):
        form.data["students"] = [key.student]
    return _next(form)


# ---------------------------------------------------------------- the guardian withdraws


def withdraw(context: Context) -> Reply:
    """The receipt's *Withdraw*, `/withdraw [REF]`, or a reference with a word that takes
    it back: the application (the only one waiting, without a reference) is withdrawn and
    the decider told; with several waiting and none named, which one is asked."""
    session, person = context.session, context.person
    if isinstance(context.choice, LeaveWithdraw):
        application = session.get(LeaveApplication, context.choice.application)
        if application is None or application.applicant_id != person.id:
            return Reply(_in(person).t("That question is no longer open."))
        return _withdraw(context, application)
    parts = context.text.split()
    reference = withdrawal_reference(context.text) or (
        parts[1].upper() if context.command == WITHDRAW_COMMAND and len(parts) > 1 else None)
    if reference is not None:
        named = own_application(session, person, reference)
        if named is None:
            return Reply(_in(person).t(
                "You have no application {ref} waiting for a decision.", ref=reference))
        return _withdraw(context, named)
    mine = withdrawable_of(session, person)
    if not mine:
        return Reply(_in(person).t("You have no leave application waiting for a decision."))
    if len(mine) == 1:
        return _withdraw(context, mine[0])
    language = person.language
    return Reply(_in(person).t("Which application do you withdraw?"), tuple(
        Choice(LeaveWithdraw(a.id or 0), f"{a.reference} · {child_name(session, a)} · "
               f"{format_span(a.first_day, a.last_day, a.part_start, a.part_end, language)}"
               .rstrip(".")) for a in mine))


def _withdraw(context: Context, application: LeaveApplication) -> Reply:
    """Withdraw one of the writer's applications, or say why it cannot be."""
    session, person = context.session, context.person
    state = context.state
    if state is not None and state.dialog == DIALOG:
        clear_state(session, person.id or 0)  # a question about it, or a form, is closed
        context.state = None
    if application.status != WITHDRAWN and not withdraw_application(
            session, application, by=person, now=context.now):
        return Reply(_in(person).t(
            "{ref} can no longer be withdrawn: the school has already decided it. Please "
            "contact the school.", ref=application.reference))
    return Reply(_in(person).t(
        # Translators: to the applicant; {name}: the child's first name.
        "Application {ref} (leave for {name}) is withdrawn. The school has been told.",
        ref=application.reference, name=child_name(session, application)))


# ---------------------------------------------------------------- the school decides


def _decide_choice(session: Session, person: Person, state: ConversationState | None,
                   key: LeaveDecision, *, now: datetime) -> Reply:
    application = session.get(LeaveApplication, key.application)
    if (application is None or application.status != PENDING or key.action not in LEAVE_ACTIONS
            or not may_decide(session, application, person)):
        clear_state(session, person.id or 0)
        return Reply(_in(person).t(
            "That application is not yours to decide, or it is already decided."))
    pending = [row.day for row in days_of(session, application.id or 0)
               if row.decision == PENDING]
    base: dict[str, Any] = {"application": application.id, "granted": [], "refused": []}
    action = key.action
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
    data = dict(state.data) if state is not None and state.dialog == DIALOG and \
        state.data.get("application") == application.id else dict(base)
    if action == "why":
        return _refusal_reason(session, person, application, data, key.reason, now=now)
    left = [day for day in pending if day.isoformat() not in data["granted"] + data["refused"]]
    if left:
        chosen = left[:1] if action in ("dg", "dr") else left
        into = "granted" if action in ("dg", "rg") else "refused"
        data[into] = data[into] + _iso(chosen)
    return _ask_day(session, person, application, data, now=now)


def _refusal_reason(session: Session, person: Person, application: LeaveApplication,
                    data: dict[str, Any], reason: str | None, *, now: datetime) -> Reply:
    """A refusal's reason tapped: settles the days decided in the dialog."""
    if not data["refused"]:
        # a reason's button from a dialog since forgotten: nothing to give it to; offer again
        clear_state(session, person.id or 0)
        return Reply(decider_text(session, application, person.language, now=now),
                     _choices(decision_keys(application, person.language)))
    if reason in REFUSALS:
        return _settle(session, person, application, _dates(data["granted"]),
                       _dates(data["refused"]), reason, None, now=now)
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
    events = events_text(session, application, language, [day])
    label = format_day(day, language).rstrip(".")
    question = _in(person).t("{ref}: leave on {day}? ({n} of {total})",
                  ref=application.reference, day=label,
                  n=len(pending) - len(left) + 1, total=len(pending))
    if events:
        question += "\n" + events
    number = application.id or 0
    choices = [Choice(LeaveDecision("dg", number), _in(person).t("Grant")),
               Choice(LeaveDecision("dr", number), _in(person).t("Refuse"))]
    if len(left) > 1:
        choices += [Choice(LeaveDecision("rg", number), _in(person).t("Grant the rest")),
                    Choice(LeaveDecision("rr", number), _in(person).t("Refuse the rest"))]
    return Reply(question, tuple(choices))


def _ask_reason(session: Session, person: Person, application: LeaveApplication,
                data: dict[str, Any], *, now: datetime) -> Reply:
    set_state(session, person.id or 0, dialog=DIALOG, step=REASON, data=data, now=now)
    number = application.id or 0
    choices = tuple(Choice(LeaveDecision("why", number, key), _in(person).t(REFUSAL_LABELS[key]))
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
    ask_guardian(session, application, applicant, text, now=now)
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
    pass_answer(session, application, person, asker, text, now=now)
    return Reply(_in(person).t("Thank you, your answer was passed on to the school."))


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
                    ref=application.reference, student=student_text(session, application),
                    what="; ".join(parts)))
