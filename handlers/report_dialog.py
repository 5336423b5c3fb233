"""The guardian's absence report: which child, which days, why, confirm, receipt.

The dialog fills a form (child, days, reason, note) in any order: free text
may answer several questions at once ("Ali sjuk idag"), a button from an
earlier message still fills its field, and the next question asked is always
the first one still open. State lives in the database (`conversation_state`),
so an answer hours later or after a restart continues where it stopped. See
`report_dialog.mmd` for the states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from handlers.mentor_notices import notify_late_report
from handlers.messages import Choice, Incoming, Reply
from handlers.schooltime import calendar_for, local_today
from locales import gettext_for
from locales.formats import first_name, format_day, format_days, format_span, reason_label
from policy.calendar import SchoolCalendar
from policy.dayparse import DaySpan, parse_days
from policy.freetext import match_child, parse_reason, parse_yes_no
from policy.presets import PolicyPreset
from policy.reporting import ReportDays, check_report_days
from storage.conversations import clear_state, set_state
from storage.models import ConversationState, Person, School, Student
from storage.reports import save_report
from storage.schools import policy_of

DIALOG = "report"
CHILD, DAYS, EARLIER, TIMES, REASON, NOTE, CONFIRM = (
    "child", "days", "earlier", "times", "reason", "note", "confirm",
)
CHILD_KEY, DAY_KEY, REASON_KEY = "child:", "day:", "reason:"
EARLIER_KEY, TIMES_KEY, NOTE_SKIP = "days:earlier", "days:times", "note:skip"
SEND, CHANGE, CANCEL = "confirm:send", "confirm:change", "dlg:cancel"
MAX_NOTE = 200
MAX_EARLIER_BUTTONS = 5


@dataclass(frozen=True)
class Reportable:
    """A student this person may report for, with the name to show."""

    student: Student
    name: str


@dataclass
class Turn:
    """One step of the dialog: who is writing, for whom, and the form so far."""

    session: Session
    person: Person
    students: list[Reportable]
    data: dict[str, Any]
    now: datetime
    _contexts: dict[int | None, tuple[SchoolCalendar, PolicyPreset, date]] = field(
        default_factory=dict
    )

    @property
    def language(self) -> str:
        """The writer's language."""
        return self.person.language

    def t(self, message: str, **values: object) -> str:
        """`message` in the writer's language."""
        return gettext_for(self.language, message, **values)

    @property
    def chosen(self) -> Reportable | None:
        """The student the report is for, once known."""
        return next(
            (r for r in self.students if r.student.id == self.data.get("student")), None
        )

    def school(self) -> School | None:
        """The chosen student's school (or the first child's, before one is chosen)."""
        chosen = self.chosen or (self.students[0] if self.students else None)
        return self.session.get(School, chosen.student.school_id) if chosen else None

    def context(self) -> tuple[SchoolCalendar, PolicyPreset, date]:
        """The calendar, plan and local date of the school concerned."""
        school = self.school()
        key = school.id if school else None
        if key not in self._contexts:
            policy = policy_of(school)
            self._contexts[key] = (calendar_for(self.session, school, policy), policy,
                                   local_today(school, self.now))
        return self._contexts[key]


def start(
    session: Session, person: Person, students: list[Reportable], text: str, *, channel: str,
    now: datetime,
) -> Reply:
    """Begin a report, taking what the first message already says ("sjuk idag")."""
    turn = Turn(session, person, students, {"channel": channel}, now)
    if len(students) == 1:
        turn.data["student"] = students[0].student.id
    _fill_from_text(turn, text)
    return _next(turn)


def answer_notice(
    session: Session, person: Person, students: list[Reportable], text: str, *,
    student_ids: list[int], day: date, channel: str, now: datetime,
) -> Reply:
    """Begin a report from the answer to an absence notice ("Hon är sjuk"): for that
    day and child (which child is asked when the notices were about several), unless
    the answer says otherwise."""
    named = [r for r in students if r.student.id in student_ids]
    if not named:
        return start(session, person, students, text, channel=channel, now=now)
    data: dict[str, Any] = {"channel": channel, "first": day.isoformat(),
                            "last": day.isoformat(), "part_start": None, "part_end": None}
    if len(named) == 1:
        data["student"] = named[0].student.id
    else:
        students = named  # "which child?" offers the children the notices were about
    turn = Turn(session, person, students, data, now)
    _fill_from_text(turn, text)
    return _next(turn)


def advance(
    session: Session, person: Person, students: list[Reportable], state: ConversationState,
    incoming: Incoming, *, now: datetime,
) -> Reply:
    """Take the answer to the current question and ask the next one (or save)."""
    turn = Turn(session, person, students, dict(state.data), now)
    text = incoming.text.strip()
    if incoming.choice:
        return _on_choice(turn, state.step, incoming.choice)
    if state.step == NOTE:
        if len(text) > MAX_NOTE:
            return _ask(turn, NOTE, turn.t(
                "That note is too long: please keep it under {n} characters, or tap No note.",
                n=MAX_NOTE,
            ))
        turn.data["note"] = text
        return _next(turn)
    if state.step == CONFIRM:
        answer = parse_yes_no(text, turn.language)
        if answer is True:
            return _save(turn)
        if answer is False:
            clear_state(session, person.id or 0)
            return Reply(turn.t("Cancelled. Nothing was saved."))
        return _ask(turn, CONFIRM, turn.t("Please answer yes to send, or no to cancel."))
    understood = _fill_from_text(turn, text, step=state.step)
    if not understood:
        return _ask(turn, state.step, _not_understood(turn, state.step))
    return _next(turn)


def _on_choice(turn: Turn, step: str, choice: str) -> Reply:
    if choice == SEND and step == CONFIRM:
        return _save(turn)
    if choice == CHANGE:
        kept = {"channel": turn.data.get("channel")}
        if len(turn.students) == 1:
            kept["student"] = turn.data.get("student")
        turn.data = kept
        return _next(turn)
    if choice == EARLIER_KEY:
        return _ask(turn, EARLIER)
    if choice == TIMES_KEY:
        return _ask(turn, TIMES)
    if choice == NOTE_SKIP:
        turn.data["note"] = None
    elif choice.startswith(CHILD_KEY):
        wanted = choice.removeprefix(CHILD_KEY)
        match = next((r for r in turn.students if str(r.student.id) == wanted), None)
        if match is not None:  # a button can only name one of the writer's own children
            turn.data["student"] = match.student.id
    elif choice.startswith(DAY_KEY):
        try:
            day = date.fromisoformat(choice.removeprefix(DAY_KEY))
        except ValueError:
            return _next(turn)
        _set_days(turn, DaySpan(day, day))
    elif choice.startswith(REASON_KEY):
        reason = choice.removeprefix(REASON_KEY)
        if reason in turn.context()[1].reasons:
            turn.data["reason"] = reason
    return _next(turn)


def _fill_from_text(turn: Turn, text: str, *, step: str | None = None) -> bool:
    """Put whatever `text` says into the form; True if it answered anything."""
    understood = False
    names = [r.name for r in turn.students]
    index = match_child(text, names, by_name_only=step not in (None, CHILD))
    if index is not None:
        turn.data["student"] = turn.students[index].student.id
        understood = True
    _calendar, policy, today = turn.context()
    span = parse_days(text, turn.language, today)
    if span is not None and (step != TIMES or span.part_start is not None):
        _set_days(turn, span)
        understood = True
    reason = parse_reason(text)
    if reason is not None and reason in policy.reasons:
        turn.data["reason"] = reason
        turn.data.setdefault("note", None)  # said in passing: don't also ask for a note
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
    calendar, policy, today = turn.context()
    part_start, part_end = turn.data.get("part_start"), turn.data.get("part_end")
    return check_report_days(
        calendar, policy, first=date.fromisoformat(turn.data["first"]),
        last=date.fromisoformat(turn.data["last"]), today=today,
        part_start=time.fromisoformat(part_start) if part_start else None,
        part_end=time.fromisoformat(part_end) if part_end else None,
    )


def _next(turn: Turn) -> Reply:
    """Ask the first open question, or show the confirmation."""
    if turn.chosen is None:
        return _ask(turn, CHILD)
    days = _checked_days(turn)
    if days is None:
        return _ask(turn, DAYS)
    if days.problem is not None:
        for key in ("first", "last", "part_start", "part_end"):
            turn.data.pop(key, None)
        return _ask(turn, DAYS, _problem_text(turn, days))
    policy = turn.context()[1]
    if not policy.reasons:
        turn.data["reason"], turn.data["note"] = "none", None
    if "reason" not in turn.data:
        return _ask(turn, REASON)
    if policy.keep_note and "note" not in turn.data:
        return _ask(turn, NOTE)
    return _ask(turn, CONFIRM, _summary(turn, days))


def _ask(turn: Turn, step: str, lead: str | None = None) -> Reply:
    """Store the step and render its question (after `lead`, if any)."""
    set_state(turn.session, turn.person.id or 0, dialog=DIALOG, step=step, data=turn.data,
              now=turn.now)
    if step == CONFIRM and lead is not None:
        return Reply(lead, _confirm_choices(turn))
    question, choices = _question(turn, step)
    text = f"{lead}\n\n{question}" if lead else question
    return Reply(text, choices)


def _question(turn: Turn, step: str) -> tuple[str, tuple[Choice, ...]]:
    calendar, policy, today = turn.context()
    name = first_name(turn.chosen.name) if turn.chosen else ""
    if step == CHILD:
        return turn.t("Who is absent?"), _child_choices(turn)
    if step == DAYS:
        choices = []
        if calendar.is_school_day(today):
            choices.append(Choice(f"{DAY_KEY}{today.isoformat()}", turn.t("Today")))
        try:
            upcoming = calendar.add_school_days(today, 1)
        except ValueError:
            upcoming = None
        if upcoming is not None and upcoming <= today + timedelta(days=policy.report_horizon_days):
            label = (turn.t("Tomorrow") if upcoming == today + timedelta(days=1)
                     else format_day(upcoming, turn.language))
            choices.append(Choice(f"{DAY_KEY}{upcoming.isoformat()}", label))
        if _earlier_days(calendar, policy, today):
            choices.append(Choice(EARLIER_KEY, turn.t("An earlier day")))
        choices.append(Choice(TIMES_KEY, turn.t("Part of a day")))
        return turn.t(
            "Which day is {name} absent? Tap a button, or type a day (Monday), a date (24/11), "
            "a range (24/11–26/11) or hours (08:15–10:00).", name=name,
        ), tuple(choices)
    if step == EARLIER:
        earlier = _earlier_days(calendar, policy, today)
        return turn.t(
            "Which day? These days can still be reported on time. For an older day, type "
            "its date."
        ), tuple(
            Choice(f"{DAY_KEY}{d.isoformat()}", format_day(d, turn.language)) for d in earlier
        )
    if step == TIMES:
        return turn.t(
            "Which hours will {name} be away? Type them like 08:15–10:00, with a date if it "
            "is not today (25/11 08:15–10:00).", name=name,
        ), ()
    if step == REASON:
        return turn.t("What is the reason?"), tuple(
            Choice(f"{REASON_KEY}{reason}", reason_label(reason, turn.language))
            for reason in policy.reasons
        )
    if step == NOTE:
        return turn.t(
            "Would you like to add a short note for the school (for example when {name} will "
            "be back)? Type it, or tap No note.", name=name,
        ), (Choice(NOTE_SKIP, turn.t("No note")),)
    checked = _checked_days(turn)
    assert checked is not None
    return _summary(turn, checked), _confirm_choices(turn)


def _child_choices(turn: Turn) -> tuple[Choice, ...]:
    firsts = [first_name(r.name) for r in turn.students]
    return tuple(
        Choice(f"{CHILD_KEY}{r.student.id}",
               first_name(r.name) if firsts.count(first_name(r.name)) == 1 else r.name)
        for r in turn.students
    )


def _confirm_choices(turn: Turn) -> tuple[Choice, ...]:
    return (
        Choice(SEND, turn.t("Send")),
        Choice(CHANGE, turn.t("Change")),
        Choice(CANCEL, turn.t("Cancel")),
    )


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


def _not_understood(turn: Turn, step: str) -> str:
    if step in (DAYS, EARLIER, TIMES):
        return turn.t("Sorry, I did not understand that date.")
    if step == REASON:
        return turn.t("Sorry, I did not understand. Please tap one of the reasons.")
    return turn.t("Sorry, I did not understand. Please tap a name or type it.")


def _summary(turn: Turn, days: ReportDays) -> str:
    chosen = turn.chosen
    assert chosen is not None
    language = turn.language
    lines = [
        turn.t("Please check your report:"),
        f"• {chosen.name}",
        f"• {format_span(days.first, days.last, days.part_start, days.part_end, language)}",
        f"• {reason_label(turn.data['reason'], language)}",
    ]
    if turn.data.get("note"):
        lines.append(f"• “{turn.data['note']}”")
    if days.skipped_days:
        lines.append(turn.t("Not school days, left out: {days}",
                            days=format_days(days.skipped_days, language)))
    if days.late_days:
        lines.append(turn.t(
            "{days}: past the three-school-day limit. The report is kept, but those days will "
            "not count as reported.", days=format_days(days.late_days, language),
        ))
    lines.append("")
    lines.append(turn.t("Send it?"))
    return "\n".join(lines)


def _save(turn: Turn) -> Reply:
    chosen = turn.chosen
    days = _checked_days(turn)
    if chosen is None or days is None or days.problem is not None:
        return _next(turn)
    saved = save_report(
        turn.session, student=chosen.student, reporter=turn.person, channel=turn.data.get(
            "channel", "chat"), days=days, reason=turn.data.get("reason", "none"),
        note=turn.data.get("note"), now=turn.now,
    )
    clear_state(turn.session, turn.person.id or 0)
    report = saved.report
    language = turn.language
    span = format_span(report.first_day, report.last_day, report.part_start, report.part_end,
                       language)
    name = first_name(chosen.name)
    if saved.merged:
        return Reply(turn.t(
            "{name}'s absence on {days} was already reported (reference {ref}). Nothing more "
            "is needed.", name=name, days=span, ref=report.reference,
        ))
    if days.late_days:
        notify_late_report(turn.session, report=report, student=chosen.student,
                           late_days=list(days.late_days), now=turn.now)
        return Reply(turn.t(
            "Thank you, your report is kept (reference {ref}). It came after the "
            "three-school-day limit for {days}, so those days cannot count as reported "
            "absence. {name}'s mentor has been told and may contact you.",
            ref=report.reference, days=format_days(days.late_days, language), name=name,
        ))
    # Translators: the receipt. {name}: the child's first name; {days}: formatted dates;
    # {ref}: a reference such as R-7K3QF.
    return Reply(turn.t(
        "Thank you. {name}'s absence on {days} is reported. Reference: {ref}.",
        name=name, days=span, ref=report.reference,
    ))
