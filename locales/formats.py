"""Shared wording: dates, day spans and reason categories in the recipient's language."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent

from locales import N_, canonical, gettext_for, normalize_language

REASON_LABELS = {
    "sick": N_("Sick"),
    "medical": N_("Medical or dental appointment"),
    "family": N_("Family reason"),
    "other": N_("Other reason"),
    "none": N_("No reason asked"),
}


def format_day(day: date, language: str) -> str:
    """A weekday and date as people write it in `language` ("tis 24 nov.", "Tue, Nov 24")."""
    return format_skeleton("MMMEd", day, locale=normalize_language(language))


def format_percent(value: float, language: str) -> str:
    """A percentage (`value` 1.33 for 1.33 %) to one decimal as `language` writes it:
    "1,3 %" in Swedish, "1.3%" in English."""
    locale = Locale.parse(normalize_language(language))
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0.#", 1)
    return babel_percent(Decimal(str(round(value, 1))) / 100, format=pattern, locale=locale)


def format_number(value: float, language: str) -> str:
    """A number to one decimal as `language` writes it ("1 234,5" in Swedish)."""
    return format_decimal(round(value, 1), format="#,##0.#", locale=normalize_language(language))


def format_days(days: list[date] | tuple[date, ...], language: str) -> str:
    """A short list of days ("mån 23 nov., tis 24 nov.")."""
    return ", ".join(format_day(day, language) for day in days)


def format_span(
    first: date, last: date, part_start: time | None, part_end: time | None, language: str
) -> str:
    """A report's days: one day, a range, or part of a day with its hours."""
    if first == last:
        text = format_day(first, language)
    else:
        text = f"{format_day(first, language)} – {format_day(last, language)}"
    if part_start is not None and part_end is not None:
        text += f" {part_start:%H:%M}–{part_end:%H:%M}"
    return text


def reason_label(reason: str, language: str) -> str:
    """The reason category's name in `language` (never the guardian's note)."""
    return gettext_for(language, REASON_LABELS.get(reason, REASON_LABELS["other"]))


def first_name(name: str) -> str:
    """The first word of a full name, as a button label and in greetings."""
    return name.split()[0] if name.split() else name


#: Mutually intelligible: no interpreter between these.
NORDIC = frozenset({"sv", "nb", "da"})


def language_name(code: str, language: str) -> str:
    """The name of the language `code`, in `language` ("arabiska" for ar in Swedish)."""
    try:
        return Locale.parse(code).get_display_name(normalize_language(language)) or code
    except (ValueError, UnknownLocaleError):
        return code


def speaks(person_language: str, staff_language: str) -> str:
    """" (Arabic: book an interpreter if needed)" for staff, when the person's language is
    not theirs; empty otherwise."""
    person_language, staff_language = canonical(person_language), canonical(staff_language)
    if person_language == staff_language or {person_language, staff_language} <= NORDIC:
        return ""  # Swedish, Norwegian and Danish speakers understand each other
    return " " + gettext_for(
        staff_language,
        # Translators: after a guardian's name and phone number, in a task for staff.
        "({language_name}: book an interpreter if needed)",
        language_name=language_name(person_language, staff_language),
    )


#: What a task is, for staff, by its kind (a plan's own tasks are named in its words).
TASK_KINDS = {
    "call_home": N_("Call home"), "meeting": N_("Meeting"),
    "late_report": N_("Late absence report"), "call_guardian": N_("Call guardian"),
    "concern": N_("Concern"), "measure": N_("Measure"),
    "evaluate_plan": N_("Evaluate the plan"),
}
OTHER_TASK = N_("Task")


def task_kind(kind: str, language: str) -> str:
    """A task's kind in words ("Call home"), in `language`; "Task" for any other kind."""
    return gettext_for(language, TASK_KINDS.get(kind, OTHER_TASK))


def format_weekdays(weekdays: str, language: str) -> str:
    """ISO weekday numbers ("135") as short day names in `language` ("mån, ons, fre")."""
    names = get_day_names("abbreviated", locale=normalize_language(language))
    return ", ".join(str(names[int(day) - 1]) for day in weekdays if day in "1234567")


#: Staff's warning signals (policy.concerns.SIGNALS) as buttons.
SIGNAL_LABELS = {
    "tiredness": N_("Tiredness"), "not_thriving": N_("Not thriving"),
    "behaviour": N_("Behaviour problems"), "bullying": N_("Bullying"),
    "exclusion": N_("Left out"), "drugs": N_("Drugs"), "self_harm": N_("Self-harm"),
    "no_belonging": N_("No sense of belonging"),
    "aches_worry": N_("Headache, stomach ache, worry"), "low_mood": N_("Low mood"),
    "mental_health": N_("Mental ill-health"), "performance_anxiety": N_("Performance anxiety"),
    "lack_of_sleep": N_("Lack of sleep"), "online_abuse": N_("Abuse online"),
}


def signal_names(signals: list[str], language: str) -> str:
    """The signals in words, in `language` ("Tiredness, Low mood")."""
    return ", ".join(gettext_for(language, SIGNAL_LABELS[s]) for s in signals
                     if s in SIGNAL_LABELS)
