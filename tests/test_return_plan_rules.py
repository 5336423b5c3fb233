"""The return plan's pure rules: which morning text goes, when silence counts, what a
mentor may write as a time or a weekday list."""

from __future__ import annotations

from datetime import date, datetime, time
from itertools import pairwise

from policy.return_plan import (
    PlanDays,
    clock_time,
    encouragement,
    valid_deadline,
    weekdays_from,
)
from policy.text import one_line


def test_rotation_never_repeats_and_the_mentors_new_text_comes_first() -> None:
    """Seven texts over a term: never the same two days in a row; a text the mentor added
    goes out on the next morning, whatever the rotation would give."""
    sent: list[int] = []
    for day in range(40):
        sent.append(encouragement(day, 7, sent[-1] if sent else None))
    assert all(a != b for a, b in pairwise(sent))
    assert set(sent) == set(range(7))
    assert encouragement(3, 9, 2, unsent=[7, 8]) == 7
    assert encouragement(3, 9, 7, unsent=[8]) == 8


def test_the_answer_deadline() -> None:
    """30 minutes before the first lesson, unless the plan sets its own (after the morning
    message, by noon); never before the message itself."""
    days = PlanDays(date(2026, 11, 23), None, time(7, 15), time(8, 15))
    assert days.answer_by == time(7, 45)
    assert PlanDays(date(2026, 11, 23), None, time(8, 0), time(8, 15)).answer_by == time(8, 0)
    own = PlanDays(date(2026, 11, 23), None, time(7, 15), time(8, 15), deadline=time(8, 30))
    assert own.answer_by == time(8, 30)
    assert not own.silent_since(datetime(2026, 11, 23, 8, 29))
    assert own.silent_since(datetime(2026, 11, 23, 8, 30))
    assert valid_deadline(time(7, 50), time(7, 15))
    assert not valid_deadline(time(7, 15), time(7, 15))
    assert not valid_deadline(time(12, 1), time(7, 15))


def test_times_and_weekdays_as_people_write_them() -> None:
    """"7.40" and "07:40" are times; "740", "7:4" and "25:00" are not; weekdays as numbers
    or English day names."""
    assert clock_time("7.40") == clock_time("07:40") == time(7, 40)
    assert [clock_time(word) for word in ("740", "7:4", "25:00", "tidigt", "")] == [None] * 5
    assert weekdays_from("mon,wed,fri") == weekdays_from("5, 3,1") == "135"
    assert weekdays_from("monday,funday") is None
    assert weekdays_from("8") is None


def test_a_mentors_own_text_is_stored_plain() -> None:
    """NUL and other control characters (which PostgreSQL refuses) go; line breaks become
    spaces; letters of any script and emoji stay."""
    assert one_line(" Vi ses,\x00 Elin!\n\n\tمرحبا 🐕 ") == "Vi ses, Elin! مرحبا 🐕"


def test_a_measure_line_with_the_keyboards_own_comma_and_colon() -> None:
    """"Eva: …, 7/12" also with Arabic and Tigrinya punctuation; no "who:" is no measure."""
    from policy.action_plans import MeasureLine, split_line

    assert split_line("Eva: följer Elin till bussen, 7/12") == MeasureLine(
        "Eva", "följer Elin till bussen", "7/12")
    assert split_line("Eva: ترافقها إلى الحافلة، 7/12") == MeasureLine(
        "Eva", "ترافقها إلى الحافلة", "7/12")
    assert split_line("Eva፥ ናብ ኣውቶቡስ፣ 7/12") == MeasureLine("Eva", "ናብ ኣውቶቡስ", "7/12")
    assert split_line("ringer hem, 7/12") is None
    assert split_line("Eva: ringer hem") == MeasureLine("Eva", "ringer hem", "")


def test_near_a_threshold() -> None:
    """8 % on the way to 10 % is near, 7 % is not; 2 of 3 occasions is near; a step reached
    or waiting on concern alone is no one's "near"; the lowest step comes first."""
    from policy.ladder import load_ladder
    from policy.watchlist import Near, nearest, trend

    lyngen, ljusnarsberg = load_ladder("lyngen"), load_ladder("ljusnarsberg")
    assert nearest(lyngen, {"absence_percent": 8.0}) == Near("absence_percent", 8.0, 10.0, "s1")
    assert nearest(lyngen, {"absence_percent": 7.0}) is None
    assert nearest(lyngen, {"absence_percent": 12.0}) is None  # on s1; s2 waits on concern
    assert nearest(lyngen, {"late_this_month": 9.0}) == Near("late_this_month", 9.0, 10.0, "s1")
    assert nearest(ljusnarsberg, {"unexcused_occasions": 2.0}) == Near(
        "unexcused_occasions", 2.0, 3.0, "s2")
    assert [trend(9.5, 0.0), trend(9.5, 9.2), trend(2.0, 3.0)] == [1, 0, -1]
