"""Typed choice keys (policy/choices.py): each kind's longest realistic data fits Telegram's
64 bytes, packs and unpacks to itself, and the buttons already in people's chats still
unpack; unknown or garbled data unpacks to None."""

from __future__ import annotations

from datetime import date

import pytest

from locales import LANGUAGES
from policy import choices as c
from policy.concerns import AREAS, SIGNALS
from policy.leave import REFUSALS
from policy.presets import REASON_CATEGORIES
from policy.return_plan import ANSWERS

#: The largest id a row can have (PostgreSQL `integer`).
ID = 2**31 - 1
DAY = date(2026, 12, 31)


def longest(values: tuple[str, ...] | list[str]) -> str:
    return max(values, key=lambda value: len(value.encode()))


#: Each kind with its longest realistic value.
LONGEST: dict[type[c.ChoiceKey], c.ChoiceKey] = {
    c.Cancel: c.Cancel(),
    c.ShareContact: c.ShareContact(),
    c.Menu: c.Menu(longest([m.item for m in (c.MENU_STATUS, c.MENU_TASKS, c.MENU_HELP,
                                             c.MENU_REPORT, c.MENU_REPORTS, c.MENU_ROLL,
                                             c.MENU_LANGUAGE, c.MENU_WORRY,
                                             c.MENU_LEAVE)])),
    c.LanguagePick: c.LanguagePick(longest(LANGUAGES)),
    c.TaskDone: c.TaskDone(ID),
    c.TaskReached: c.TaskReached(ID),
    c.TaskRetry: c.TaskRetry(ID),
    c.TaskNotNeeded: c.TaskNotNeeded(ID),
    c.TaskTomorrow: c.TaskTomorrow(ID),
    c.TaskHeld: c.TaskHeld(ID),
    c.TaskBook: c.TaskBook(ID),
    c.TaskBookOn: c.TaskBookOn(ID, DAY),
    c.TaskHandover: c.TaskHandover(ID),
    c.TaskHandTo: c.TaskHandTo(ID, ID),
    c.GuardSend: c.GuardSend(ID),
    c.GuardCancel: c.GuardCancel(ID),
    c.NoticeAnswer: c.NoticeAnswer(ID, DAY),
    c.ChildPick: c.ChildPick(ID),
    c.AllChildren: c.AllChildren(),
    c.DayPick: c.DayPick(DAY),
    c.EarlierDay: c.EarlierDay(),
    c.PartOfDay: c.PartOfDay(),
    c.ReasonPick: c.ReasonPick(longest(REASON_CATEGORIES)),
    # A receipt for four children reported in one message.
    c.Undo: c.Undo((ID, ID, ID, ID)),
    c.AddNote: c.AddNote((ID, ID, ID, ID)),
    c.ReportCancel: c.ReportCancel(ID),
    c.ReportConfirmCancel: c.ReportConfirmCancel(ID),
    c.ReportKeep: c.ReportKeep(),
    c.WorryChild: c.WorryChild(ID),
    c.RollClass: c.RollClass(ID),
    c.RollMark: c.RollMark(ID),
    c.RollSend: c.RollSend(),
    c.ConcernClose: c.ConcernClose(ID),
    c.ConcernAdd: c.ConcernAdd(ID),
    c.ConcernSignal: c.ConcernSignal(longest(SIGNALS)),
    c.ConcernSend: c.ConcernSend(),
    c.MappingAnswer: c.MappingAnswer(ID, longest(AREAS), 4),
    c.ActionPlanSave: c.ActionPlanSave(),
    c.ActionPlanWorking: c.ActionPlanWorking(ID),
    c.ActionPlanNotWorking: c.ActionPlanNotWorking(ID),
    c.CheckIn: c.CheckIn(ID, longest(ANSWERS)),
    c.PlanMenu: c.PlanMenu(ID),
    c.PlanAsk: c.PlanAsk(ID, "answer"),
    c.PlanSet: c.PlanSet(ID, "answer", "12:00"),
    c.PlanNoGoal: c.PlanNoGoal(ID),
    c.PlanAdult: c.PlanAdult(ID, ID),
    c.PlanNote: c.PlanNote(ID),
    c.PlanEnd: c.PlanEnd(ID),
    c.PlanExtend: c.PlanExtend(ID),
    c.PlanOff: c.PlanOff(ID),
    c.PlanOn: c.PlanOn(ID),
    c.LeaveChild: c.LeaveChild(ID),
    c.LeaveAllChildren: c.LeaveAllChildren(),
    c.LeaveWithdraw: c.LeaveWithdraw(ID),
    c.LeaveDecision: c.LeaveDecision(longest(sorted(c.LEAVE_ACTIONS)), ID, longest(REFUSALS)),
}


def test_every_kind_has_its_longest_value_here() -> None:
    assert set(LONGEST) == set(c.kinds())
    assert all(type(key) is kind for kind, key in LONGEST.items())


@pytest.mark.parametrize("key", LONGEST.values(), ids=lambda key: type(key).__name__)
def test_the_longest_value_fits_telegram_and_comes_back(key: c.ChoiceKey) -> None:
    data = key.pack()
    assert len(data.encode()) <= c.MAX_BYTES
    assert c.unpack(data) == key


def test_too_long_data_is_refused_when_packed() -> None:
    with pytest.raises(ValueError, match="over Telegram's 64"):
        c.Undo(tuple(range(10**9, 10**9 + 6))).pack()
    with pytest.raises(ValueError):
        c.ConcernSignal("x" * 60).pack()
    with pytest.raises(ValueError, match="holds"):
        c.PlanSet(1, "a:b", "07:30").pack()  # only the last field may hold ':'
    with pytest.raises(ValueError, match="empty"):
        c.ReasonPick("").pack()


@pytest.mark.parametrize("data", [
    "task:done:12", "task:bookon:7:2026-12-14", "task:handto:7:31", "massguard:cancel:4",
    "notice:5:2026-12-07", "plan:set:3:time:07:30", "plan:adult:3", "plan:adult:3:9",
    "plan:checkin:8:not_today", "child:all", "child:4", "day:2026-11-24", "days:times",
    "reason:illness", "undo:1,2", "note:add:17", "report:confirm-cancel:9", "report:keep",
    "map:4:home:0", "menu:language", "lang:uk", "dlg:cancel", "roll:class:2", "roll:send",
    "concern:signal:tired", "aplan:not:3", "worry:child:6", "@contact", "leave:grant:7",
    "leave:why:7:exam", "leave:child:4", "leave:all",
])
def test_buttons_already_sent_still_unpack(data: str) -> None:
    """The wire format of the buttons sent before the keys were typed is kept."""
    key = c.unpack(data)
    assert key is not None and key.pack() == data


@pytest.mark.parametrize("data", [
    None, "", "nope", "task", "task:done", "task:done:", "task:done:x", "task:done:-1",
    "task:done:٣", "task:done:1:2", "child:all:3", "day:2026-02-30", "day:", "plan:set:1",
    "plan:adult:1:2:3", "undo:1,,2", "report:keep:1", "map:1:home", ":", "menu:",
    "x" * 1000, "task:done:1\x00",
])
def test_unknown_or_garbled_data_unpacks_to_none(data: str | None) -> None:
    assert c.unpack(data) is None


def test_sms_numbering_is_said_by_the_kind() -> None:
    assert not c.Menu("help").numbered and not c.ShareContact().numbered
    assert not c.Undo((1,)).numbered and not c.AddNote((1,)).numbered
    assert c.ChildPick(1).numbered and c.MappingAnswer(1, "home", 0).scale
    assert c.CheckIn(1, "coming").worded and not c.DayPick(DAY).worded
