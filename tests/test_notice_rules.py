"""The rules of same-day notices: cutoffs, quiet hours, the false-alarm guard, settings."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from policy.notices import NoticeRules, cutoff, is_quiet, rules_from, setting_problem, too_many
from policy.presets import load_policy

MONDAY = date(2026, 11, 23)
RULES = NoticeRules()


def test_a_whole_day_is_unexcused_30_minutes_after_the_first_lesson() -> None:
    """Whole day: first lesson 08:15 + 30 min; a lesson: its start + 20 min."""
    assert cutoff(MONDAY, None, RULES) == datetime(2026, 11, 23, 8, 45)
    assert cutoff(MONDAY, time(13, 0), RULES) == datetime(2026, 11, 23, 13, 20)
    later = NoticeRules(first_lesson=time(9, 0), day_cutoff_minutes=45)
    assert cutoff(MONDAY, None, later) == datetime(2026, 11, 23, 9, 45)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [(time(20, 59), False), (time(21, 0), True), (time(23, 30), True), (time(0, 0), True),
     (time(6, 59), True), (time(7, 0), False), (time(12, 0), False)],
)
def test_quiet_hours_span_midnight(moment: time, quiet: bool) -> None:
    """21:00–07:00 by default."""
    assert is_quiet(moment, RULES) is quiet


def test_quiet_hours_within_a_day_and_none() -> None:
    """A window that does not cross midnight; equal ends mean no quiet hours."""
    lunch = NoticeRules(quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert is_quiet(time(12, 30), lunch) and not is_quiet(time(13, 0), lunch)
    assert not is_quiet(time(3, 0), NoticeRules(quiet_start=time(0, 0), quiet_end=time(0, 0)))


def test_the_guard_holds_more_than_40_percent_of_a_group_of_five_or_more() -> None:
    """Over the share holds; at the share does not; tiny groups never hold."""
    assert too_many(3, 6, RULES)  # 50 %
    assert not too_many(2, 5, RULES)  # 40 % exactly
    assert not too_many(3, 4, RULES)  # a group of four is too small to judge
    assert not too_many(0, 30, RULES)
    assert not too_many(30, 30, NoticeRules(mass_alert_share=1.0))


def test_a_schools_settings_override_its_policy_and_bad_ones_are_named() -> None:
    """Times and numbers from `school set --notice`; unknown or unreadable ones are refused."""
    own = rules_from({"first_lesson": "08:30", "mass_alert_share": "0.25",
                      "lesson_cutoff_minutes": "15", "nonsense": "1"}, RULES)
    assert (own.first_lesson, own.mass_alert_share, own.lesson_cutoff_minutes) == (
        time(8, 30), 0.25, 15)
    assert rules_from({"first_lesson": "soon"}, RULES) == RULES
    assert setting_problem("first_lesson", "08:30") is None
    assert setting_problem("first_lesson", "soon") == "must be a time such as 08:15"
    assert setting_problem("mass_alert_share", "2") is not None
    assert setting_problem("day_cutoff_minutes", "-5") is not None
    assert "unknown setting" in (setting_problem("colour", "red") or "")


def test_a_policy_file_sets_notice_rules(tmp_path: Path) -> None:
    """`[notices]` in a policy file overrides the preset's; an unknown key is an error."""
    path = tmp_path / "plan.toml"
    path.write_text('base = "lyngen"\n[notices]\nfirst_lesson = "08:30"\n', encoding="utf-8")
    assert load_policy(str(path)).notices.first_lesson == time(8, 30)
    path.write_text('base = "lyngen"\n[notices]\nfirst_lessen = "08:30"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="first_lessen"):
        load_policy(str(path))


def test_the_guard_asks_about_the_school_first_then_each_class() -> None:
    """Eight of ten at the school would be told: the school is asked, and its word holds
    for every class; without its word all wait; a class alone is asked about itself."""
    from collections.abc import Callable

    from policy.guard import Scope, Verdict, guard, scopes, verdict

    fresh = {n: 1 if n < 6 else 2 for n in range(8)}  # six in class 1, two in class 2
    found = scopes(9, fresh, {1: 6, 2: 4}, {})
    assert [(s.key, s.would, s.size) for s in found] == [
        ("school:9", 8, 10), ("class:1", 6, 6), ("class:2", 2, 4)]
    asked: list[str] = []

    def answer(word: Verdict | None) -> Callable[[Scope], Verdict | None]:
        def ask(scope: Scope) -> Verdict | None:
            asked.append(scope.key)
            return word
        return ask

    assert guard(found, RULES, answer(None)).held == set(range(8)) and asked == ["school:9"]
    confirmed = guard(found, RULES, answer(Verdict.CONFIRMED))
    assert (confirmed.held, confirmed.cancelled) == (set(), set())
    cancelled = guard(found, RULES, answer(Verdict.CANCELLED))
    assert cancelled.cancelled == cancelled.held == set(range(8))
    # Told already today count: one class of six, five of them now after one this morning.
    asked.clear()
    alone = scopes(9, {n: 1 for n in range(5)}, {1: 6, 2: 20}, {40: 1})
    assert guard(alone, RULES, answer(None)).held == set(range(5))
    assert asked == ["class:1"]  # 6 of 26 at the school is no burst
    assert verdict(["confirmed", "cancelled"]) is Verdict.CANCELLED
    assert verdict(["confirmed"]) is Verdict.CONFIRMED and verdict([]) is None
