"""Texts put together from parts read right in every language: one full stop, plurals by
count, percentages as the reader's locale writes them, staff's own help."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from handlers.menu import staff_help
from handlers.student_view import term_counts
from locales import LANGUAGES, LOCALE_DIR, gettext_for
from locales.formats import format_day, format_percent

JOINS = re.compile(r"(?<!\.)\.\.(?!\.)|\.:|\.\s*\.(?!\.)")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_writes_a_double_full_stop(language: str) -> None:
    """No translation has "..", ".:" or ". ." of its own (an ellipsis "..." is fine)."""
    path = Path(LOCALE_DIR) / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        strings = (message.string if isinstance(message.string, (tuple, list))
                   else (message.string,))
        for text in strings:
            assert not JOINS.search(text or ""), (language, message.id, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_date_or_a_title_ending_in_a_full_stop_is_not_doubled(language: str) -> None:
    """Swedish "mån 30 nov." before the sentence's own full stop, a plan's task "…varje
    vecka." before ": Emil": one full stop, in every language."""
    day = format_day(date(2026, 11, 30), language)
    said = gettext_for(language, "Staff concern since {day}.", day=day)
    assert ".." not in said and ".\u2069." not in said
    task = gettext_for(language, "{what}: {student}, due {day}.",
                       what="Mentorsamtal varje vecka.", student="Emil", day=day)
    assert ".:" not in task and ".\u2069:" not in task


def test_the_swedish_day_is_written_once() -> None:
    """The exact Swedish text the issue quoted."""
    day = format_day(date(2026, 11, 30), "sv")
    assert day == "mån 30 nov."
    assert gettext_for("sv", "Staff concern since {day}.", day=day) == (
        "Oro noterad av personal sedan mån 30 nov.")


def test_counts_have_plurals_and_percentages_the_readers_format() -> None:
    """"1 frånvarodag i rad", not "1 dagar i rad"; "1,3 %" in Swedish, "1.3%" in English."""
    one = {"unexcused_occasions": 1, "absence_percent": 1.3333, "lesson_absences": 1,
           "late_this_month": 1, "continuous_days": 1}
    assert term_counts(one, "sv") == (
        "Den här terminen: 1 ogiltigt tillfälle, 1,3\u00a0% frånvaro, 1 enstaka lektion "
        "missad, 1 sen ankomst denna månad, 1 frånvarodag i rad.")
    many = {**one, "continuous_days": 3, "unexcused_occasions": 2}
    assert "3 frånvarodagar i rad" in term_counts(many, "sv")
    assert "2 unexcused occasions" in term_counts(many, "en")
    assert format_percent(1.3333, "en") == "1.3%"
    assert format_percent(12, "da") == "12\u00a0%"


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_help_lists_the_staff_commands(language: str) -> None:
    """A mentor's /help names every staff command, translated around them."""
    text = staff_help(language)
    for command in ("/tasks", "/roll", "/student", "/concern", "/plan", "/mapping",
                    "/actionplan"):
        assert command in text
    assert language == "en" or text != staff_help("en")
