"""The guardian's absence report: recorded from the first message when it is complete.

A message is read as a careful person would (`policy.reading`): which children, which
days, why. When it says all the school needs, the report is recorded at once and the
answer is a receipt that says what was recorded and how to undo it (a word, by the end
of that school day; a button in the chat). Otherwise only what is missing is asked, one
question at a time, and the answer completes the report: there is no confirmation step.
No day named means today on a school day before the school day ends, else the next
school day. State lives in the database (`conversation_state`), so an answer hours later
or after a restart continues where it stopped. See `report_dialog.mmd` for the states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from babel.lists import format_list
from sqlmodel import Session

from handlers.mentor_notices import (
    notify_cancelled_today,
    notify_differing_report,
    notify_late_report,
)
from handlers.messages import Choice, Context, Reply, Reportable
from handlers.schooltime import calendar_for, local_now
from locales import gettext_for
from locales.formats import first_name, format_day, format_days, format_span, reason_label
from policy.calendar import SchoolCalendar
from policy.choices import (
    AddNote,
    AllChildren,
    ChildPick,
    ChoiceKey,
    DayPick,
    EarlierDay,
    PartOfDay,
    ReasonPick,
    Undo,
)
from policy.dayparse import DaySpan, parse_days
from policy.freetext import match_child
from policy.notices import NoticeRules
from policy.presets import PolicyPreset
from policy.reading import Reading, read
from policy.reporting import ReportDays, check_report_days, first_day_meant, undo_until
from policy.text import one_line
from storage.conversations import clear_state, set_state
from storage.models import AbsenceReport, Person, School
from storage.people import student_names_at
from storage.reports import add_note, cancel_report, save_report, undoable_reports
from storage.schools import notice_rules, policy_of

COMMAND = "/report"
DIALOG = "report"
CHILD, DAYS, EARLIER, TIMES, REASON, NOTE = (
    "child", "days", "earlier", "times", "reason", "note",
)
MAX_NOTE = 200
MAX_EARLIER_BUTTONS = 5
#: How far back an undo looks for the report it takes back (a Friday evening's report can
#: be undone until Monday's school day ends).
UNDO_LOOKBACK = timedelta(days=7)


@dataclass
class Turn:
    """One step of the dialog: who is writing, for whom, and the form so far."""

    session: Session
    person: Person
    students: list[Reportable]
    data: dict[str, Any]
    now: datetime
    _contexts: dict[int | None, tuple[SchoolCalendar, PolicyPreset, date, NoticeRules]] = (
        field(default_factory=dict)
    )
    _schools: dict[int, School | None] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The writer's language."""
        return self.person.language

    @property
    def sms(self) -> bool:
        """Whether the conversation is by text message (no buttons there)."""
        return self.data.get("channel") == "sms"

    def t(self, message: str, **values: Any) -> str:
        """`message` in the writer's language."""
        return gettext_for(self.language, message, **values)

    @property
    def chosen(self) -> list[Reportable]:
        """The students the report is for, once known."""
        ids = self.data.get("students") or []
        return [r for r in self.students if r.student.id in ids]

    def school(self) -> School | None:
        """The chosen student's school (or the first child's, before one is chosen)."""
        chosen = self.chosen or self.students
        if not chosen:
            return None
        school_id = chosen[0].student.school_id
        # Asked for many times a turn: the session's identity map costs more than a dict.
        if school_id not in self._schools:
            self._schools[school_id] = self.session.get(School, school_id)
        return self._schools[school_id]

    def context(self) -> tuple[SchoolCalendar, PolicyPreset, date, NoticeRules]:
        """The calendar, plan, local date and notice rules of the school concerned."""
        school = self.school()
        key = school.id if school else None
        if key not in self._contexts:
            policy = policy_of(school)
            rules = notice_rules(school) if school else NoticeRules()
            self._contexts[key] = (calendar_for(self.session, school, policy), policy,
                                   local_now(school, self.now, session=self.session).date(), rules)
        return self._contexts[key]

    def start_day(self) -> date:
        """The day meant when none is named."""
        calendar, _policy, today, rules = self.context()
        local = local_now(self.school(), self.now, session=self.session)
        moment = local.time().replace(tzinfo=None)
        return first_day_meant(calendar, today, moment, rules.day_ends)


def begin(context: Context) -> Reply:
    """/report or the menu's Report absence: ask which child (skipped with one child); any
    dialog open is closed."""
    session, person, students = context.session, context.person, context.students
    clear_state(session, person.id or 0)
    turn = Turn(session, person, students, {"channel": context.incoming.channel}, context.now)
    if len(students) == 1:
        turn.data["students"] = [students[0].student.id]
    return _next(turn)


def start_from(context: Context) -> Reply | None:
    """Words that may report an absence: recorded when complete, else what is missing is
    asked; None when they report nothing."""
    return start(context.session, context.person, context.students, context.text,
                 channel=context.incoming.channel, now=context.now)


def start(
    session: Session, person: Person, students: list[Reportable], text: str, *, channel: str,
    now: datetime,
) -> Reply | None:
    """Begin a report from a message ("Ali sjuk idag"): record it if it is complete, else ask
    what is missing. None when the message is no report (thanks, a question): the caller
    answers it."""
    turn = Turn(session, person, students, {"channel": channel}, now)
    if len(students) == 1:
        turn.data["students"] = [students[0].student.id]
    reading = _read(turn, text)
    if reading.other_child:
        return _not_your_child(turn)
    if not reading.is_report:
        return None
    _apply(turn, reading, first=True)
    return _next(turn, lead=_separate_days(turn, text) if reading.day_unclear else None)


def answer_notice(
    session: Session, person: Person, students: list[Reportable], text: str, *,
    student_ids: list[int], day: date, channel: str, now: datetime,
) -> tuple[Reply, str, str | None]:
    """Answer a reply to an absence notice ("Hon är sjuk", "OK", "vet", "han är hemma"): a
    report for that day and child (which child is asked when the notices were about
    several), recorded at once when complete. Returns the answer, how the notice was
    answered: "known" (a report or a word that they know), or "replied" (anything else,
    for the mentor's call), and the words for the mentor when they are about the notice's
    child and report nothing ("He left home at 7.30!"). A message naming a child who is
    not the writer's is answered as such, never applied to the notice's child, and never
    passed on."""
    named = [r for r in students if r.student.id in student_ids]
    data: dict[str, Any] = {"channel": channel, "first": day.isoformat(),
                            "last": day.isoformat(), "part_start": None, "part_end": None}
    if len(named) == 1:
        data["students"] = [named[0].student.id]
    turn = Turn(session, person, named or students, data, now)
    if not text:
        return _next(turn), "known", None
    reading = _read(turn, text, names=[r.name for r in students])
    if reading.other_child:
        return _not_your_child(turn), "replied", None
    children = [students[index].student.id for index in reading.children]
    if children and not set(children) & set(student_ids):
        # another of the writer's children: a report of its own
        started = start(session, person, students, text, channel=channel, now=now)
        return started or _next(turn), "replied", None
    if children:
        turn.data["students"] = [s for s in children if s in student_ids]
    if reading.is_report:
        _apply(turn, reading, first=False)
        return _next(turn), "known", None
    if reading.acknowledgement or reading.thanks:
        return _next(turn, lead=turn.t("Thank you for your answer.")), "known", None
    clear_state(session, person.id or 0)
    return (Reply(turn.t("Thank you for your answer. The school will contact you.")), "replied",
            one_line(text)[:MAX_NOTE])


def advance(context: Context) -> Reply:
    """Take the answer to the current question and ask the next one (or record)."""
    session, person, students, text = (context.session, context.person, context.students,
                                       context.text)
    state = context.state
    if state is None:
        raise LookupError("no report dialog open")
    turn = Turn(session, person, students, dict(state.data), context.now)
    if context.tapped:
        return on_choice(turn, context.choice)
    if state.step == NOTE:
        return _note(turn, text)
    if state.step == CHILD:
        index = match_child(text, [r.name for r in students])
        if index is not None:
            turn.data["students"] = [students[index].student.id]
    reading = _read(turn, text, step=state.step)
    if reading.other_child:
        return _not_your_child(turn)
    understood = _apply(turn, reading, first=False, step=state.step) or (
        state.step == CHILD and bool(turn.chosen))
    if not understood:
        return _ask(turn, state.step, _not_understood(turn, state.step, text))
    return _next(turn)


def on_choice(turn: Turn, key: ChoiceKey | None) -> Reply:
    """A tapped button (or a numbered SMS answer) of this dialog; an unknown one asks the
    open question again."""
    if isinstance(key, Undo):
        return _undo_chosen(turn, list(key.reports))
    if isinstance(key, AddNote):
        turn.data = {"channel": turn.data.get("channel"), "reports": list(key.reports)}
        return _ask(turn, NOTE)
    if isinstance(key, EarlierDay):
        return _ask(turn, EARLIER)
    if isinstance(key, PartOfDay):
        return _ask(turn, TIMES)
    if isinstance(key, AllChildren):
        turn.data["students"] = [r.student.id for r in turn.students]
    elif isinstance(key, ChildPick):
        match = next((r for r in turn.students if r.student.id == key.student), None)
        if match is not None:  # a button can only name one of the writer's own children
            turn.data["students"] = [match.student.id]
    elif isinstance(key, DayPick):
        _set_days(turn, DaySpan(key.day, key.day))
    elif isinstance(key, ReasonPick) and key.reason in turn.context()[1].reasons:
        turn.data["reason"] = key.reason
    return _next(turn)


def act(context: Context) -> Reply:
    """A receipt's button (undo, add a note), whenever it is tapped."""
    turn = Turn(context.session, context.person, context.students,
                {"channel": context.incoming.channel}, context.now)
    return on_choice(turn, context.choice)


def undo_word(context: Context) -> Reply:
    """"ÅNGRA" / "undo" written: the latest report taken back while its undo is open."""
    return undo(context.session, context.person, context.students, now=context.now) or Reply(
        gettext_for(context.language, "There is nothing to undo."))


def _read(turn: Turn, text: str, *, step: str | None = None,
          names: list[str] | None = None) -> Reading:
    names = names if names is not None else [r.name for r in turn.students]
    _calendar, _policy, today, _rules = turn.context()
    schools = sorted({r.student.school_id for r in turn.students})
    return read(text, names, turn.language, today, start=turn.start_day(),
                others=student_names_at(turn.session, schools), writer=turn.person.name)


def _apply(turn: Turn, reading: Reading, *, first: bool, step: str | None = None) -> bool:
    """Put what the message says into the form; True if it answered anything. Only a
    report's first message takes the day meant when none is named."""
    understood = False
    if reading.children:
        turn.data["students"] = [turn.students[i].student.id for i in reading.children
                                 if i < len(turn.students)]
        understood = True
    span = reading.span
    if span is not None and (step != TIMES or span.part_start is not None):
        _set_days(turn, span)
        understood = True
        if reading.part_unclear and span.part_start is None and span.first == span.last:
            turn.data["need_times"] = True  # "tandläkare kl 13 idag": the day, times asked
    elif reading.part_unclear:
        if span is not None:
            _set_days(turn, span)
        turn.data["need_times"] = True
    elif first and not reading.day_unclear and not reading.past and "first" not in turn.data:
        _set_days(turn, DaySpan(turn.start_day(), turn.start_day()))
    if step == TIMES and span is not None and span.part_start is not None:
        turn.data.pop("need_times", None)
    policy = turn.context()[1]
    if reading.reason is not None and reading.reason in policy.reasons:
        turn.data["reason"] = reading.reason
        understood = True
    elif reading.reason is not None and policy.reasons and step == REASON:
        turn.data["reason"] = "other" if "other" in policy.reasons else policy.reasons[0]
        understood = True
    return understood


def _set_days(turn: Turn, span: DaySpan) -> None:
    turn.data.update(
        first=span.first.isoformat(), last=span.last.isoformat(),
        part_start=span.part_start.strftime("%H:%M") if span.part_start else None,
        part_end=span.part_end.strftime("%H:%M") if span.part_end else None,
    )


def _checked_days(turn: Turn) -> ReportDays | None:
    if "first" not in turn.data:
        return None
    calendar, policy, today, _rules = turn.context()
    part_start, part_end = turn.data.get("part_start"), turn.data.get("part_end")
    checked = check_report_days(
        calendar, policy, first=date.fromisoformat(turn.data["first"]),
        last=date.fromisoformat(turn.data["last"]), today=today,
        part_start=time.fromisoformat(part_start) if part_start else None,
        part_end=time.fromisoformat(part_end) if part_end else None,
    )
    days = checked.school_days
    if checked.problem is None and (days[0], days[-1]) != (checked.first, checked.last):
        # "hela veckan" on a Monday is Monday to Friday: the weekend is not news.
        return check_report_days(calendar, policy, first=days[0], last=days[-1], today=today,
                                 part_start=checked.part_start, part_end=checked.part_end)
    return checked


def _next(turn: Turn, *, lead: str | None = None) -> Reply:
    """Ask the first open question, or record the report."""
    if not turn.chosen:
        return _ask(turn, CHILD, lead)
    if turn.data.get("need_times"):
        return _ask(turn, TIMES, lead)
    days = _checked_days(turn)
    if days is None:
        return _ask(turn, DAYS, lead)
    if days.problem is not None:
        for key in ("first", "last", "part_start", "part_end"):
            turn.data.pop(key, None)
        return _ask(turn, DAYS, _problem_text(turn, days))
    policy = turn.context()[1]
    if not policy.reasons:
        turn.data["reason"] = "none"
    if "reason" not in turn.data:
        return _ask(turn, REASON, lead)
    return _record(turn, days)


def _ask(turn: Turn, step: str, lead: str | None = None) -> Reply:
    """Store the step and render its question (after `lead`, if any)."""
    set_state(turn.session, turn.person.id or 0, dialog=DIALOG, step=step, data=turn.data,
              now=turn.now)
    question, choices = _question(turn, step)
    text = f"{lead}\n\n{question}" if lead else question
    return Reply(text, choices)


def _names(turn: Turn) -> str:
    names = [first_name(r.name) for r in turn.chosen]
    return join_names(names, turn.language)


def join_names(names: list[str], language: str) -> str:
    """"Ali and Sara" in `language`."""
    try:
        return format_list(names, locale=language)
    except (ValueError, LookupError):
        return ", ".join(names)


def _question(turn: Turn, step: str) -> tuple[str, tuple[Choice, ...]]:
    calendar, policy, today, _rules = turn.context()
    name = _names(turn)
    if step == CHILD:
        return turn.t("Who is absent?"), _child_choices(turn)
    if step == DAYS:
        choices = []
        if calendar.is_school_day(today):
            choices.append(Choice(DayPick(today), turn.t("Today")))
        try:
            upcoming = calendar.add_school_days(today, 1)
        except ValueError:
            upcoming = None
        if upcoming is not None and upcoming <= today + timedelta(days=policy.report_horizon_days):
            label = (turn.t("Tomorrow") if upcoming == today + timedelta(days=1)
                     else format_day(upcoming, turn.language))
            choices.append(Choice(DayPick(upcoming), label))
        if _earlier_days(calendar, policy, today):
            choices.append(Choice(EarlierDay(), turn.t("An earlier day")))
        choices.append(Choice(PartOfDay(), turn.t("Part of a day")))
        return turn.t(
            "Which day is {name} absent? A day (Monday), a date (24/11), a range "
            "(24/11–26/11) or hours (08:15–10:00).", name=name,
        ), tuple(choices)
    if step == EARLIER:
        earlier = _earlier_days(calendar, policy, today)
        return turn.t(
            "Which day? These days can still be reported on time. For an older day, write "
            "its date."
        ), tuple(
            Choice(DayPick(d), format_day(d, turn.language)) for d in earlier
        )
    if step == TIMES:
        return turn.t(
            "Which hours will {name} be away? Write them like 08:15–10:00, with a date if it "
            "is not today (25/11 08:15–10:00).", name=name,
        ), ()
    if step == REASON:
        return turn.t("What is the reason?"), tuple(
            Choice(ReasonPick(reason), reason_label(reason, turn.language))
            for reason in policy.reasons
        )
    return turn.t("Write the note for the school (at most {n} characters).", n=MAX_NOTE), ()


def _child_choices(turn: Turn) -> tuple[Choice, ...]:
    firsts = [first_name(r.name) for r in turn.students]
    choices = [
        Choice(ChildPick(r.student.id or 0),
               first_name(r.name) if firsts.count(first_name(r.name)) == 1 else r.name)
        for r in turn.students
    ]
    if len(choices) > 1:
        choices.append(Choice(AllChildren(), turn.t("All of them")))
    return tuple(choices)


def _earlier_days(calendar: SchoolCalendar, policy: PolicyPreset, today: date) -> list[date]:
    try:
        earliest = calendar.earliest_reportable_day(today, policy.report_deadline_school_days)
    except ValueError:
        return []
    days = calendar.school_days(earliest, today - timedelta(days=1))
    return list(reversed(days))[:MAX_EARLIER_BUTTONS]


def _problem_text(turn: Turn, days: ReportDays) -> str:
    policy = turn.context()[1]
    if days.problem == "too_far_ahead":
        return turn.t("You can report at most {n} days ahead.", n=policy.report_horizon_days)
    if days.problem == "too_far_back":
        return turn.t("That is too far back to report here; please contact the school.")
    return turn.t(
        "{days} is not a school day, so there is nothing to report.",
        days=format_span(days.first, days.last, None, None, turn.language),
    )


def _not_understood(turn: Turn, step: str, text: str = "") -> str:
    if step in (DAYS, EARLIER, TIMES):
        return _separate_days(turn, text) or turn.t("Sorry, I did not understand that date.")
    if step == REASON:
        return turn.t("Sorry, I did not understand. Which of these is the reason?")
    return turn.t("Sorry, I did not understand. Which child do you mean?")


def _separate_days(turn: Turn, text: str) -> str | None:
    """Why days were asked again when the words name two apart ("imorgon och fredag"): a
    report is one day or one run of days."""
    today, start = turn.context()[2], turn.start_day()
    if parse_days(text, turn.language, today, start=start) is None or parse_days(
            text, turn.language, today, start=start, strict=True) is not None:
        return None
    return turn.t("One report is one day, or days in a row (“tomorrow”, “Mon–Wed”). Give "
                  "the first here; report the other day after.")


def _not_your_child(turn: Turn) -> Reply:
    clear_state(turn.session, turn.person.id or 0)
    names = join_names([first_name(r.name) for r in turn.students], turn.language)
    return Reply(turn.t(
        "That name is not one of your children here ({names}), so nothing was recorded. "
        "To report for {names}, write their name.", names=names,
    ))


def _undo_line(turn: Turn, until: date) -> str:
    rules = turn.context()[3]
    today = turn.context()[2]
    when = (f"{rules.day_ends:%H:%M}" if until == today else
            f"{format_day(until, turn.language).rstrip('.')} {rules.day_ends:%H:%M}")
    if turn.sms:
        # Translators: the end of an SMS receipt. {word}: the undo word in capitals, as
        # translated under "UNDO"; {time}: "16:00" or "tis 24 nov 16:00".
        return turn.t("Wrong? Reply {word} by {time}.", word=turn.t("UNDO"), time=when)
    return turn.t("Wrong? Undo by {time}.", time=when)


def _record(turn: Turn, days: ReportDays) -> Reply:
    """Record the report for each chosen child and answer with the receipt."""
    clear_state(turn.session, turn.person.id or 0)
    reason = turn.data.get("reason", "none")
    calendar, _policy, today, rules = turn.context()
    new: list[AbsenceReport] = []
    lines: list[str] = []
    for chosen in turn.chosen:
        saved = save_report(
            turn.session, student=chosen.student, reporter=turn.person,
            channel=turn.data.get("channel", "chat"), days=days, reason=reason, note=None,
            now=turn.now,
        )
        report = saved.report
        span = format_span(report.first_day, report.last_day, report.part_start,
                           report.part_end, turn.language)
        if saved.merged and _differs(report, turn.person, days, reason):
            notify_differing_report(turn.session, report=report, student=chosen.student,
                                    reporter=turn.person, days=days, now=turn.now)
            lines.append(turn.t(
                "{name}'s absence on {days} was already reported (reference {ref}), not as "
                "you wrote it. The school has been told and will check with you.",
                name=first_name(chosen.name), days=span, ref=report.reference))
            continue
        if saved.merged:
            lines.append(turn.t(
                "{name}'s absence on {days} was already reported (reference {ref}). Nothing "
                "more is needed.", name=first_name(chosen.name), days=span,
                ref=report.reference))
            continue
        new.append(report)
        if days.late_days:
            notify_late_report(turn.session, report=report, student=chosen.student,
                               late_days=list(days.late_days), now=turn.now)
    if new:
        lines.insert(0, _receipt(turn, days, new, reason))
    if not new:
        return Reply("\n".join(lines))
    moment = local_now(turn.school(), turn.now, session=turn.session).time().replace(tzinfo=None)
    until = undo_until(calendar, today, moment, rules.day_ends)
    lines.append(_undo_line(turn, until))
    ids = tuple(report.id or 0 for report in new)
    choices: list[Choice] = [Choice(Undo(ids), turn.t("Undo"))]
    if turn.context()[1].keep_note and not turn.sms:
        choices.append(Choice(AddNote(ids), turn.t("Add a note")))
    return Reply("\n".join(lines), tuple(choices))


def _differs(first: AbsenceReport, writer: Person, days: ReportDays, reason: str) -> bool:
    """Whether another guardian's report, which covers these days, says something else: other
    hours of the day, or another reason (a whole week "sick" and one day "sick" agree)."""
    if first.reporter_id == writer.id:
        return False
    hours = (days.part_start, days.part_end) != (first.part_start, first.part_end)
    return hours or ("none" not in (reason, first.reason) and reason != first.reason)


def _receipt(turn: Turn, days: ReportDays, reports: list[AbsenceReport], reason: str) -> str:
    names = {r.student.id: first_name(r.name) for r in turn.students}
    who = join_names([names[report.student_id] for report in reports], turn.language)
    span = format_span(days.first, days.last, days.part_start, days.part_end,
                       turn.language).rstrip(".")
    refs = ", ".join(report.reference for report in reports)
    if reason == "none":
        # Translators: a receipt. {name}: first names ("Ali", "Ali and Sara"); {days}:
        # formatted dates; {ref}: references such as R-7K3QF.
        text = turn.t("Recorded: {name} absent {days}. Ref. {ref}.", name=who, days=span,
                      ref=refs)
    else:
        # Translators: a receipt, to the guardian who gave the reason. {reason}: "Sick".
        text = turn.t("Recorded: {name} absent {days}, {reason}. Ref. {ref}.", name=who,
                      days=span, reason=reason_label(reason, turn.language).lower(), ref=refs)
    if days.skipped_days:
        text += "\n" + turn.t("Not school days, left out: {days}",
                              days=format_days(days.skipped_days, turn.language))
    if days.late_days:
        text += "\n" + turn.t(
            "{days}: past the three-school-day limit, so not counted as reported. The "
            "mentor has been told.", days=format_days(days.late_days, turn.language))
    return text


def undo(session: Session, person: Person, students: list[Reportable], *,
         now: datetime) -> Reply | None:
    """Take back the report(s) of the person's latest message while its undo is open
    ("ÅNGRA", "undo", or cancel words right after a receipt); None when there is none."""
    reports = undoable_reports(session, person.id or 0, now - UNDO_LOOKBACK)
    return _undo(session, person, students, reports, now=now)


def _undo_chosen(turn: Turn, wanted: list[int]) -> Reply:
    reports = [report for report in (turn.session.get(AbsenceReport, i) for i in wanted)
               if report is not None and report.reporter_id == turn.person.id
               and report.cancelled_at is None]
    reply = _undo(turn.session, turn.person, turn.students, reports, now=turn.now)
    return reply or Reply(turn.t("That can no longer be undone. My reports lists what can "
                                 "still be cancelled."))


def _undo(session: Session, person: Person, students: list[Reportable],
          reports: list[AbsenceReport], *, now: datetime) -> Reply | None:
    by_id = {r.student.id: r for r in students}
    reports = [report for report in reports if report.student_id in by_id]
    if not reports:
        return None
    student = by_id[reports[0].student_id].student
    school = session.get(School, student.school_id)
    policy = policy_of(school)
    calendar = calendar_for(session, school, policy)
    rules = notice_rules(school) if school else NoticeRules()
    made = local_now(school, reports[0].reported_at, session=session)
    until = undo_until(calendar, made.date(), made.time().replace(tzinfo=None), rules.day_ends)
    local = local_now(school, now, session=session)
    if (local.date(), local.time().replace(tzinfo=None)) > (until, rules.day_ends):
        return None
    today = local.date()
    for report in reports:
        covers_today = report.first_day <= today <= report.last_day
        cancel_report(session, report, by=person, now=now, from_day=report.first_day)
        if covers_today and calendar.is_school_day(today):
            notify_cancelled_today(session, report=report, student=by_id[report.student_id]
                                   .student, now=now)
    clear_state(session, person.id or 0)
    names = join_names([first_name(by_id[report.student_id].name) for report in reports],
                       person.language)
    span = format_span(reports[0].first_day, reports[0].last_day, reports[0].part_start,
                       reports[0].part_end, person.language).rstrip(".")
    return Reply(gettext_for(person.language, "Undone: nothing is recorded for {name} on "
                                              "{days}.", name=names, days=span))


def _note(turn: Turn, text: str) -> Reply:
    if len(text) > MAX_NOTE:
        return _ask(turn, NOTE, turn.t(
            "That note is too long: please keep it under {n} characters.", n=MAX_NOTE))
    allowed = {r.student.id for r in turn.students}
    for report_id in turn.data.get("reports", []):
        report = turn.session.get(AbsenceReport, report_id)
        if (report is not None and report.reporter_id == turn.person.id
                and report.student_id in allowed and report.cancelled_at is None):
            add_note(turn.session, report, text)
    clear_state(turn.session, turn.person.id or 0)
    return Reply(turn.t("Thank you, the note is kept with the report."))
