"""Every message template fits in three SMS segments in every language, with long values."""

from __future__ import annotations

import string
from collections import defaultdict
from datetime import time

import pytest
from babel.messages.pofile import read_po

from bot.sms import MAX_SEGMENTS, render
from locales import LANGUAGES, LOCALE_DIR, gettext_for
from policy.sms import is_gsm7, segments, to_sms
from services.notices import notice_text

#: Long but realistic values for the placeholders.
VALUES = {
    "name": "Alexandra", "student": "Alexandra Johansson-Lindqvist (9B)",
    "guardian": "Mohammed Abdirahman Hassan", "days": "tis 24 nov. – fre 27 nov.",
    "ref": "R-7K3QF", "phone": "+46701234567", "n": 30, "school": "Kyrkbackens skola F-9",
    "number": 3, "label": "Läkar- eller tandläkarbesök", "names": "Ali, Sara",
}


def templates(language: str) -> list[str]:
    """Every translated message of `language`, singular and plural forms alike."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    found: list[str] = []
    for message in catalog:
        if message.id:
            string = message.string
            found.extend(string if isinstance(string, (tuple, list)) else [string or ""])
    return found


def filled(template: str) -> str:
    """The template with long values in its placeholders."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values = defaultdict(lambda: "Xxxxxxxxxxxx", {k: v for k, v in VALUES.items() if k in fields})
    return template.format_map(values)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_fits_three_segments(language: str) -> None:
    """Designed short: no template needs shortening, even with long names and dates."""
    too_long = [
        (segments(to_sms(filled(t))), t[:60]) for t in templates(language)
        if segments(to_sms(filled(t))) > MAX_SEGMENTS
    ]
    assert too_long == []


@pytest.mark.parametrize("language", ["sv", "nb", "da", "en"])
def test_nordic_and_english_templates_stay_gsm7(language: str) -> None:
    """Å Ä Ö Æ Ø are GSM-7; so must every Nordic and English template be, once made SMS-safe
    (an odd quote or dash would double the cost of every message)."""
    assert [t[:60] for t in templates(language) if not is_gsm7(to_sms(filled(t)))] == []


def test_a_long_text_with_a_question_is_shortened_at_a_word_and_keeps_the_question() -> None:
    """Too long for three segments: cut at a word, "..." added, the numbered question kept."""
    text = " ".join(["frånvaroanmälan"] * 60)
    body = render(text, [{"key": "confirm:send", "label": "Skicka"},
                         {"key": "dlg:cancel", "label": "Avbryt"}], "sv")
    assert segments(body) <= MAX_SEGMENTS
    first, question = body.rsplit("\n", 1)
    assert question == "Svara 1 för Skicka, 2 för Avbryt."
    assert first.endswith("frånvaroanmälan...")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("lesson", [None, time(13, 45)])
def test_the_absence_notice_is_under_320_characters(language: str, lesson: time | None) -> None:
    """The same-day notice as an SMS (text, the school's number and the reply line) stays
    under 320 characters with a long name, for a whole day and a lesson."""
    text = notice_text(language, "Alexandra-Josefin", lesson, adult=False)
    text += " " + gettext_for(language, "If you know why, reply to this message.")
    text += " " + gettext_for(language, "School: {phone}", phone="+46701234567")
    body = render(text, [{"key": "notice:1:2026-11-23",
                          "label": gettext_for(language, "Give the reason")}], language)
    assert len(body) < 320, body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_menu_fits_three_segments_with_its_question(language: str) -> None:
    """/language by SMS: the question and all ten languages, numbered, in three segments."""
    from handlers.language import autonym
    from policy.choices import LanguagePick

    choices = [{"key": LanguagePick(code).pack(), "label": autonym(code)} for code in LANGUAGES]
    question = gettext_for(language, "Which language should I write to you in?")
    body = render(question, choices, language)
    assert segments(body) <= MAX_SEGMENTS and body.startswith(to_sms(question)), body
