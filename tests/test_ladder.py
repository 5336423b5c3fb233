"""Escalation ladders: conditions, counters over a term, and the five plans as data."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from policy.calendar import DateRange, SchoolCalendar
from policy.ladder import (
    PRESET_DIR,
    Condition,
    LadderError,
    Record,
    TaskRule,
    counters,
    episodes,
    load_ladder,
    parse_ladder,
)

#: The plans' texts (copies of shared/seeds, kept with the presets that encode them).
SEEDS = PRESET_DIR / "sources"
AUTUMN = DateRange(date(2026, 8, 17), date(2026, 12, 22), "HT26")
CALENDAR = SchoolCalendar(country="SE", terms=(AUTUMN,),
                          breaks=(DateRange(date(2026, 10, 26), date(2026, 10, 30), "höstlov"),))
TODAY = date(2026, 11, 27)  # a Friday


def test_conditions_read_and_or_with_and_binding_tighter() -> None:
    """`a and b or c`: (a and b) or c."""
    condition = Condition.parse("unexcused_occasions >= 3 and absence_percent > 10 "
                                "or continuous_days >= 10")
    assert condition.holds({"unexcused_occasions": 3, "absence_percent": 10.5})
    assert not condition.holds({"unexcused_occasions": 3, "absence_percent": 10})
    assert condition.holds({"continuous_days": 10})
    with pytest.raises(LadderError, match="unknown counter 'absences'"):
        Condition.parse("absences > 1")
    with pytest.raises(LadderError, match="cannot read"):
        Condition.parse("unexcused_occasions >> 1")


def test_a_ladder_file_is_checked_whole() -> None:
    """Unknown roles, unreadable due times and duplicate ids name the step."""
    step = {"id": "s1", "when": "unexcused_occasions >= 1",
            "tasks": [{"who": "janitor", "kind": "call_home", "due": "same_day"}]}
    with pytest.raises(LadderError, match="step s1: who 'janitor'"):
        parse_ladder({"steps": [step]})
    step["tasks"] = [{"who": "mentor", "kind": "call_home", "due": "soon"}]
    with pytest.raises(LadderError, match="due 'soon'"):
        parse_ladder({"steps": [step]})
    step["tasks"] = []
    with pytest.raises(LadderError, match="unique id"):
        parse_ladder({"steps": [step, step]})


def test_due_dates_fall_on_school_days() -> None:
    """Same day (or the next school day), N school days, N weeks (moved off a holiday)."""
    friday, saturday = date(2026, 11, 27), date(2026, 11, 28)
    assert TaskRule("mentor", "call_home", "same_day", "").due_on(friday, CALENDAR) == friday
    assert TaskRule("mentor", "call_home", "same_day", "").due_on(saturday, CALENDAR) == date(
        2026, 11, 30)
    assert TaskRule("mentor", "meeting", "school_days:5", "").due_on(friday, CALENDAR) == date(
        2026, 12, 4)
    # Three weeks after 2026-10-05 is in the autumn break: the first school day after it.
    assert TaskRule("mentor", "meeting", "weeks:3", "").due_on(
        date(2026, 10, 5), CALENDAR) == date(2026, 10, 26) + timedelta(days=7)


def test_counters_over_a_term() -> None:
    """Occasions, shares of scheduled time, lessons, late arrivals this month, and the run
    of continuous absent school days across a weekend."""
    records = [
        Record(date(2026, 8, 20), "absent", "reported"),  # last term? no: this term
        Record(date(2026, 6, 10), "absent", "unexcused"),  # before the term: not counted
        Record(date(2026, 9, 14), "absent", "unexcused"),
        Record(date(2026, 9, 15), "absent", "unexcused", time(8, 15), time(9, 45)),
        Record(date(2026, 10, 1), "absent", "withdrawn"),  # corrected: not counted
        Record(date(2026, 11, 3), "late", "unexcused"),
        Record(date(2026, 11, 10), "late", "open"),
        Record(date(2026, 10, 20), "late", "open"),  # another month
        Record(date(2026, 11, 25), "absent", "reported"),
        Record(date(2026, 11, 26), "absent", "reported"),
        Record(date(2026, 11, 27), "absent", "unexcused"),
    ]
    found = counters(records, CALENDAR, TODAY)
    scheduled = len(CALENDAR.school_days(AUTUMN.start, TODAY))
    assert found["unexcused_occasions"] == 3
    assert found["absence_occasions"] == 4  # 25–27 Nov is one occasion (episode)
    assert found["lesson_absences"] == 1
    assert found["late_this_month"] == 2
    assert found["continuous_days"] == 3
    assert found["continuous_reported_days"] == 0  # the run ends with an unexcused day
    assert found["absence_percent"] == round(100 * (5 + 90 / 360) / scheduled, 2)
    assert found["unexcused_percent"] == round(100 * (2 + 90 / 360) / scheduled, 2)
    monday = date(2026, 11, 30)
    weekend_run = [Record(date(2026, 11, 27), "absent", "reported"),
                   Record(monday, "absent", "reported")]
    assert counters(weekend_run, CALENDAR, monday)["continuous_reported_days"] == 2


def _seed_text(source: str) -> str:
    path = SEEDS / Path(source).name
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["ljusnarsberg", "bengtsfors", "norway-example", "denmark",
                                  "lyngen"])
def test_each_plan_is_a_ladder_quoting_its_seed(name: str) -> None:
    """Each preset loads, has steps with tasks, and quotes its plan verbatim."""
    ladder = load_ladder(name)
    assert ladder.name == name and ladder.steps
    assert all(step.tasks or step.messages for step in ladder.steps)
    raw = (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")
    source = re.search(r'^source = "(.+)"$', raw, re.M)
    assert source is not None
    seed = _seed_text(source.group(1))
    for step in ladder.steps:
        assert re.sub(r"\s+", " ", step.quote.strip()) in seed, (step.id, step.quote)


def test_lyngen_steps_follow_each_other_and_fall_back() -> None:
    """Concern at 10 %: steps 1–2 at once; step 3 only from step 2 once its evaluation is held
    without improvement, step 4 only from step 3; below 10 % the student leaves the ladder."""
    lyngen = load_ladder("lyngen")
    s1, s2, s3, s4 = lyngen.steps
    worrying = {"absence_percent": 12.0, "concern": 1.0}
    assert lyngen.advance(None, worrying) is s2
    evaluated = {**worrying, "evaluated": 1.0, "improved": 0.0}
    assert lyngen.advance(None, evaluated) is s2  # no skipping
    assert lyngen.advance(s2, {**worrying, "days_in_step": 30}) is s2  # not evaluated yet
    assert lyngen.advance(s2, {**evaluated, "improved": 1.0}) is s2  # better: no step 3
    assert lyngen.advance(s2, evaluated) is s3
    assert lyngen.advance(s3, evaluated) is s4
    assert lyngen.advance(s4, worrying) is s4  # holds while worrying
    assert lyngen.advance(s4, {"absence_percent": 5.0, "concern": 1.0}) is None
    assert lyngen.advance(None, {"absence_percent": 12.0}) is s1  # no concern: step 1 only
    # Trinn 1's talk and call are made when a concern already open takes the student
    # straight to trinn 2.
    assert [(step.id, step.tasks[i].kind) for step, i in lyngen.carried(None, s2)] == [
        ("s1", "student_talk"), ("s1", "call_home")]


def test_ljusnarsberg_occasions_climb_the_ladder() -> None:
    """1st unexcused occasion, 3rd, then two and four weeks of continuous absence."""
    ladder = load_ladder("ljusnarsberg")
    levels = {step.id: step for step in ladder.steps}
    first = ladder.advance(None, {"unexcused_occasions": 1})
    assert first is not None and any(t.who == "mentor" and t.due == "same_day"
                                     for t in first.tasks)
    third = ladder.advance(first, {"unexcused_occasions": 3})
    assert third is not None and third.level > first.level
    four_weeks = ladder.advance(third, {"unexcused_occasions": 3, "continuous_days": 20})
    assert four_weeks is not None and four_weeks is max(levels.values(), key=lambda s: s.level)


def test_occasions_are_episodes() -> None:
    """Days in a row (over a weekend and a break) are one occasion; lessons in a row are one,
    lessons apart are two; a day missed lesson by lesson joins its neighbours."""
    days = CALENDAR.school_days(AUTUMN.start, TODAY)
    lesson = [Record(date(2026, 9, 8), "absent", "reported", time(h, 0), time(h, 50))
              for h in (8, 9, 10, 11, 13, 14)]  # the whole Tuesday, lesson by lesson
    records = [
        Record(date(2026, 9, 4), "absent", "reported"),  # Friday ...
        Record(date(2026, 9, 7), "absent", "reported"),  # ... and Monday: one
        *lesson,  # ... and Tuesday, lesson by lesson: still one
        Record(date(2026, 9, 16), "absent", "unexcused", time(8, 0), time(8, 50)),
        Record(date(2026, 9, 16), "absent", "unexcused", time(9, 0), time(9, 50)),  # in a row
        Record(date(2026, 9, 16), "absent", "unexcused", time(13, 0), time(13, 50)),  # apart
    ]
    found = episodes(records, days)
    assert [(e.start, e.end) for e in found] == [
        (date(2026, 9, 4), date(2026, 9, 8)), (date(2026, 9, 16), date(2026, 9, 16)),
        (date(2026, 9, 16), date(2026, 9, 16))]
    counted = counters(records, CALENDAR, TODAY)
    assert counted["absence_occasions"] == 3 and counted["unexcused_occasions"] == 2


def test_a_share_needs_a_base_and_a_step_holds_while_its_cause_lasts() -> None:
    """One absent day in a term's first week is 5 % with Bengtsfors' base of 20 school days,
    not 50 %; a continuous step holds overnight and goes after a school day without absence;
    a share step near its threshold holds ten school days, one far below goes at once."""
    ladder = load_ladder("bengtsfors")
    steps = {step.id: step for step in ladder.steps}
    second_day = date(2026, 8, 18)
    one_day = counters([Record(second_day, "absent", "unexcused")], CALENDAR, second_day,
                       counting=ladder.counting)
    assert one_day["absence_percent"] == 5.0
    assert ladder.advance(None, one_day) is steps["s1"]
    plain = counters([Record(second_day, "absent", "unexcused")], CALENDAR, second_day)
    assert plain["absence_percent"] == 50.0  # what staff read: the days so far
    monday, tuesday, wednesday = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
    gone = {"absence_occasions": 1.0, "continuous_reported_days": 0.0}
    held, since = ladder.settle(steps["s2"], gone, below_since=None, today=monday,
                                calendar=CALENDAR)
    assert held is steps["s2"] and since == monday  # the morning before the roll call
    assert ladder.settle(steps["s2"], gone, below_since=monday, today=monday,
                         calendar=CALENDAR) == (steps["s2"], monday)
    left, _ = ladder.settle(steps["s2"], gone, below_since=monday, today=tuesday,
                            calendar=CALENDAR)
    assert left is None  # Monday passed at school
    near = {"absence_percent": 25.0, "absence_occasions": 2.0}
    assert ladder.settle(steps["s6"], near, below_since=monday, today=wednesday,
                         calendar=CALENDAR)[0] is steps["s6"]
    far = {"absence_percent": 4.0, "absence_occasions": 2.0}
    assert ladder.settle(steps["s6"], far, below_since=None, today=wednesday,
                         calendar=CALENDAR)[0] is None


def test_improvement_is_measured_over_school_days() -> None:
    """The rate since the step began against the rate before it: full attendance since is
    improvement, the same absence is not."""
    entered = date(2026, 10, 5)
    before = [Record(d, "absent", "unexcused")
              for d in CALENDAR.school_days(date(2026, 9, 1), date(2026, 10, 2))[::4]]
    same = [Record(d, "absent", "unexcused")
            for d in CALENDAR.school_days(entered, date(2026, 10, 23))[::4]]
    ladder = load_ladder("norway-example")
    today = date(2026, 10, 23)
    better = counters(before, CALENDAR, today, counting=ladder.counting, entered=entered)
    worse = counters(before + same, CALENDAR, today, counting=ladder.counting,
                     entered=entered)
    assert better["improved"] == 1.0 and worse["improved"] == 0.0
    assert better["days_in_step"] == 14
    s2, s3 = ladder.steps[1], ladder.steps[2]
    assert ladder.advance(s2, better) is s2 and ladder.advance(s2, worse) is s3
