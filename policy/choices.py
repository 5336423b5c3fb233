"""Typed choice keys: what a button's data, a web chat's choice or an SMS number means.

Each kind of choice is a frozen dataclass with a short prefix and typed fields (a task's
id, a student's id, a day). It is packed as `prefix:field:field…` and unpacked in this
module only: nothing else parses button data. The wire format is the one the buttons
already in people's chats carry, so an old button still works.

- `key.pack()` gives the data; it raises `ValueError` when the data would not fit
  Telegram's `callback_data` (64 bytes) or a field would not survive the round trip.
- `unpack(data)` gives the typed key, or None for data it does not know (an old kind,
  garbled or forged data); it never raises.

A kind also says how an SMS shows it: `numbered` (listed as "reply 1 for …"; the menu,
the contact button and a receipt's undo and note are written out instead), `scale`
(numbered from 0: the cause mapping's 0–4) and `worded` (the answer may be written out:
the morning check-in).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

#: Telegram's limit on a button's `callback_data`, in bytes.
MAX_BYTES = 64
SEPARATOR = ":"
#: Every kind by its prefix (filled as the kinds below are defined).
_KINDS: dict[str, type[ChoiceKey]] = {}
#: Per kind, how each field is read from its text and whether it may be left out.
_READERS: dict[type[ChoiceKey], list[tuple[Callable[[str], Any], bool]]] = {}


@dataclass(frozen=True)
class ChoiceKey:
    """A typed choice: a prefix and fields. A kind is a frozen dataclass subclass that
    names its prefix: `class TaskDone(ChoiceKey, prefix="task:done")`."""

    prefix: ClassVar[str] = ""
    #: Whether an SMS numbers it ("reply 1 for …").
    numbered: ClassVar[bool] = True
    #: Whether an SMS numbers it from 0 (a scale).
    scale: ClassVar[bool] = False
    #: Whether an SMS answer may name it in words (its label) as well as by number.
    worded: ClassVar[bool] = False

    def __init_subclass__(cls, *, prefix: str, numbered: bool = True, scale: bool = False,
                          worded: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if prefix in _KINDS or not prefix or prefix.count(SEPARATOR) > 1:
            raise ValueError(f"choice prefix {prefix!r} is taken or malformed")
        cls.prefix, cls.numbered, cls.scale, cls.worded = prefix, numbered, scale, worded
        _KINDS[prefix] = cls

    @classmethod
    def stem(cls) -> str:
        """The prefix with its separator, as data with fields begins (`task:done:`)."""
        return cls.prefix + SEPARATOR

    def pack(self) -> str:
        """The data, checked against Telegram's 64-byte limit (ValueError beyond it)."""
        values = [getattr(self, field.name) for field in dataclasses.fields(self)]
        while values and values[-1] is None:  # an optional field at the end is left out
            values.pop()
        parts = [_encode(value) for value in values]
        if any(SEPARATOR in part for part in parts[:-1]) or any(not part for part in parts):
            raise ValueError(f"{type(self).__name__}: a field is empty or holds "
                             f"{SEPARATOR!r}: {parts}")
        data = SEPARATOR.join([self.prefix, *parts])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__} packs to {len(data.encode())} bytes, "
                             f"over Telegram's {MAX_BYTES}")
        return data


def unpack(data: str | None) -> ChoiceKey | None:
    """The typed choice `data` packs, or None (unknown, garbled, empty); never raises."""
    if not data or len(data) > MAX_BYTES * 4:
        return None
    parts = data.split(SEPARATOR)
    for length in (2, 1):  # a two-part prefix ("child:all") before a one-part one ("child")
        found = _KINDS.get(SEPARATOR.join(parts[:length])) if len(parts) >= length else None
        if found is not None:
            key = _read(found, data[len(found.prefix):])
            if key is not None:
                return key
    return None


def kinds() -> tuple[type[ChoiceKey], ...]:
    """Every kind (the tests pack each one's longest data)."""
    return tuple(_KINDS.values())


def _read(cls: type[ChoiceKey], rest: str) -> ChoiceKey | None:
    readers = _readers(cls)
    if not readers:
        return cls() if rest == "" else None
    if not rest.startswith(SEPARATOR):
        return None
    values = rest[1:].split(SEPARATOR, len(readers) - 1)  # the last field keeps its ':'
    required = sum(1 for _reader, optional in readers if not optional)
    if not required <= len(values) <= len(readers) or not all(values):
        return None
    try:
        return cls(*(read(value) for (read, _optional), value in zip(readers, values,
                                                                        strict=False)))
    except (ValueError, TypeError):
        return None


def _readers(cls: type[ChoiceKey]) -> list[tuple[Callable[[str], Any], bool]]:
    if cls not in _READERS:
        hints = typing.get_type_hints(cls)
        _READERS[cls] = [_reader(hints[field.name]) for field in dataclasses.fields(cls)]
    return _READERS[cls]


def _reader(hint: Any) -> tuple[Callable[[str], Any], bool]:
    """How a field of this type is read, and whether it is optional (`X | None`)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        inner = next(arg for arg in args if arg is not type(None))
        return _reader(inner)[0], True
    readers: dict[Any, Callable[[str], Any]] = {
        int: _int, str: str, date: date.fromisoformat, tuple[int, ...]: _ints,
    }
    if hint not in readers:
        raise TypeError(f"a choice field cannot be {hint!r}")
    return readers[hint], False


def _encode(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(int(item)) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _int(text: str) -> int:
    if not (text.isascii() and text.isdecimal()):
        raise ValueError(text)
    return int(text)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(_int(part) for part in text.split(","))


# --- The kinds -------------------------------------------------------------------------
# Kept here together so that a prefix is never used twice and every kind's longest data
# is checked in one test (tests/test_choices.py).


@dataclass(frozen=True)
class Cancel(ChoiceKey, prefix="dlg:cancel"):
    """Cancel the question open (any dialog)."""


@dataclass(frozen=True)
class ShareContact(ChoiceKey, prefix="@contact", numbered=False):
    """The channel's "share my phone number" button (Telegram draws it itself)."""


@dataclass(frozen=True)
class Menu(ChoiceKey, prefix="menu", numbered=False):
    """An entry of the main menu (`MENU_*` below); an unknown entry gets the greeting."""

    item: str


MENU_STATUS, MENU_TASKS, MENU_HELP = Menu("status"), Menu("tasks"), Menu("help")
MENU_REPORT, MENU_REPORTS, MENU_ROLL = Menu("report"), Menu("reports"), Menu("roll")
MENU_LANGUAGE, MENU_WORRY, MENU_LEAVE = Menu("language"), Menu("worry"), Menu("leave")


@dataclass(frozen=True)
class LanguagePick(ChoiceKey, prefix="lang"):
    """A language picked from the list (its code)."""

    code: str


# A staff member's task (its id), wherever the task's message reaches them.
@dataclass(frozen=True)
class TaskDone(ChoiceKey, prefix="task:done"):
    """The task is done."""

    task: int


@dataclass(frozen=True)
class TaskReached(ChoiceKey, prefix="task:reached"):
    """A call home: the guardian was reached."""

    task: int


@dataclass(frozen=True)
class TaskRetry(ChoiceKey, prefix="task:retry"):
    """A call home: no answer, remind me later."""

    task: int


@dataclass(frozen=True)
class TaskNotNeeded(ChoiceKey, prefix="task:notneeded"):
    """The task is not needed."""

    task: int


@dataclass(frozen=True)
class TaskTomorrow(ChoiceKey, prefix="task:tomorrow"):
    """A plan's task put off to the next school day."""

    task: int


@dataclass(frozen=True)
class TaskHeld(ChoiceKey, prefix="task:held"):
    """A plan's meeting was held (its follow-up is created)."""

    task: int


@dataclass(frozen=True)
class TaskBook(ChoiceKey, prefix="task:book"):
    """A plan's meeting is booked: asks which day."""

    task: int


@dataclass(frozen=True)
class TaskBookOn(ChoiceKey, prefix="task:bookon"):
    """A plan's meeting booked for this day."""

    task: int
    day: date


@dataclass(frozen=True)
class TaskHandover(ChoiceKey, prefix="task:handover"):
    """Hand the task to a colleague: asks whom."""

    task: int


@dataclass(frozen=True)
class TaskHandTo(ChoiceKey, prefix="task:handto"):
    """Hand the task to this colleague."""

    task: int
    person: int


@dataclass(frozen=True)
class GuardSend(ChoiceKey, prefix="massguard:send"):
    """A held burst of notices: send them (the guard task's id)."""

    task: int


@dataclass(frozen=True)
class GuardCancel(ChoiceKey, prefix="massguard:cancel"):
    """A held burst of notices: do not send them."""

    task: int


@dataclass(frozen=True)
class NoticeAnswer(ChoiceKey, prefix="notice"):
    """A guardian answers the notice about a student's absence on a day."""

    student: int
    day: date


# The guardian's report (handlers.report_dialog) and its receipt.
@dataclass(frozen=True)
class ChildPick(ChoiceKey, prefix="child"):
    """The child the report is for."""

    student: int


@dataclass(frozen=True)
class AllChildren(ChoiceKey, prefix="child:all"):
    """The report is for all the writer's children."""


@dataclass(frozen=True)
class DayPick(ChoiceKey, prefix="day"):
    """The day of the absence."""

    day: date


@dataclass(frozen=True)
class EarlierDay(ChoiceKey, prefix="days:earlier"):
    """An earlier day: asks which."""


@dataclass(frozen=True)
class PartOfDay(ChoiceKey, prefix="days:times"):
    """Part of a day: asks the hours."""


@dataclass(frozen=True)
class ReasonPick(ChoiceKey, prefix="reason"):
    """The reason of the absence (a plan's reason key)."""

    reason: str


@dataclass(frozen=True)
class Undo(ChoiceKey, prefix="undo", numbered=False):
    """Take back the reports a receipt names (an SMS writes the undo word instead)."""

    reports: tuple[int, ...]


@dataclass(frozen=True)
class AddNote(ChoiceKey, prefix="note:add", numbered=False):
    """Add a note to the reports a receipt names (not offered by SMS)."""

    reports: tuple[int, ...]


# A guardian's reports for the coming days (handlers.my_reports).
@dataclass(frozen=True)
class ReportCancel(ChoiceKey, prefix="report:cancel"):
    """Cancel this report: asks to confirm."""

    report: int


@dataclass(frozen=True)
class ReportConfirmCancel(ChoiceKey, prefix="report:confirm-cancel"):
    """Yes, cancel this report."""

    report: int


@dataclass(frozen=True)
class ReportKeep(ChoiceKey, prefix="report:keep"):
    """No, keep the report."""


@dataclass(frozen=True)
class WorryChild(ChoiceKey, prefix="worry:child"):
    """The child a guardian's worry is about."""

    student: int


@dataclass(frozen=True)
class RollClass(ChoiceKey, prefix="roll:class"):
    """The class a roll call is for."""

    school_class: int


@dataclass(frozen=True)
class RollMark(ChoiceKey, prefix="roll:mark"):
    """A student's mark in the roll call, cycled."""

    student: int


@dataclass(frozen=True)
class RollSend(ChoiceKey, prefix="roll:send"):
    """Send the roll call."""


# A staff member's concern about a student (handlers.concern).
@dataclass(frozen=True)
class ConcernClose(ChoiceKey, prefix="concern:close"):
    """Close the concern about a student."""

    student: int


@dataclass(frozen=True)
class ConcernAdd(ChoiceKey, prefix="concern:add"):
    """Add to the open concern about a student."""

    student: int


@dataclass(frozen=True)
class ConcernSignal(ChoiceKey, prefix="concern:signal"):
    """A warning signal toggled (its key)."""

    signal: str


@dataclass(frozen=True)
class ConcernSend(ChoiceKey, prefix="concern:send"):
    """Send the concern told."""


@dataclass(frozen=True)
class MappingAnswer(ChoiceKey, prefix="map", scale=True):
    """A cause mapping's area answered on the scale (0–4)."""

    mapping: int
    area: str
    value: int


# An action plan (handlers.action_plan): save it; the evaluation's answers.
@dataclass(frozen=True)
class ActionPlanSave(ChoiceKey, prefix="aplan:save"):
    """Save the measures written."""


@dataclass(frozen=True)
class ActionPlanWorking(ChoiceKey, prefix="aplan:working"):
    """The plan works (its id)."""

    plan: int


@dataclass(frozen=True)
class ActionPlanNotWorking(ChoiceKey, prefix="aplan:not"):
    """The plan does not work yet."""

    plan: int


# A return plan (handlers.return_plan, plan_settings, plan_consent), by the plan's id.
@dataclass(frozen=True)
class CheckIn(ChoiceKey, prefix="plan:checkin", worded=True):
    """The student's answer to a morning check-in."""

    check_in: int
    answer: str


@dataclass(frozen=True)
class PlanMenu(ChoiceKey, prefix="plan:menu"):
    """Show the plan with its settings."""

    plan: int


@dataclass(frozen=True)
class PlanAsk(ChoiceKey, prefix="plan:ask"):
    """Ask for a setting in words."""

    plan: int
    setting: str


@dataclass(frozen=True)
class PlanSet(ChoiceKey, prefix="plan:set"):
    """A setting's value tapped (the value may hold ':' — a time)."""

    plan: int
    setting: str
    value: str


@dataclass(frozen=True)
class PlanNoGoal(ChoiceKey, prefix="plan:nogoal"):
    """Remove the day's goal."""

    plan: int


@dataclass(frozen=True)
class PlanAdult(ChoiceKey, prefix="plan:adult"):
    """Change the trusted adult: asks whom (no person), or this person."""

    plan: int
    person: int | None = None


@dataclass(frozen=True)
class PlanNote(ChoiceKey, prefix="plan:note"):
    """Switch the guardians' daily note."""

    plan: int


@dataclass(frozen=True)
class PlanEnd(ChoiceKey, prefix="plan:end"):
    """End the plan."""

    plan: int


@dataclass(frozen=True)
class PlanExtend(ChoiceKey, prefix="plan:extend"):
    """Go on with the plan after its evaluation."""

    plan: int


@dataclass(frozen=True)
class PlanOff(ChoiceKey, prefix="plan:off"):
    """A guardian: no messages to the child (the student's id)."""

    student: int


@dataclass(frozen=True)
class PlanOn(ChoiceKey, prefix="plan:on"):
    """A guardian: messages to the child allowed again."""

    student: int


# A leave application (handlers.leave, services.leave): the guardian's child picks, and the
# decider's buttons, by the application's id.
@dataclass(frozen=True)
class LeaveChild(ChoiceKey, prefix="leave:child"):
    """The child a leave application is for."""

    student: int


@dataclass(frozen=True)
class LeaveAllChildren(ChoiceKey, prefix="leave:all"):
    """The application is for all the writer's children."""


@dataclass(frozen=True)
class LeaveWithdraw(ChoiceKey, prefix="leave:withdraw"):
    """The applicant takes back an application not yet decided (its receipt's button)."""

    application: int


@dataclass(frozen=True)
class LeaveDecision(ChoiceKey, prefix="leave"):
    """A decider's button: `action` (one of LEAVE_ACTIONS) on the application, with the
    refusal's reason key for `why`."""

    action: str
    application: int
    reason: str | None = None


#: What a decider's button does: grant or refuse every day, choose day by day, ask the
#: guardian; day by day: grant or refuse this day (`dg`, `dr`) or the rest (`rg`, `rr`);
#: `why`: the reason of a refusal.
LEAVE_ACTIONS = frozenset({"grant", "refuse", "days", "ask", "dg", "dr", "rg", "rr", "why"})
