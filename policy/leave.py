"""Leave applications: who decides, when an unanswered one moves up, and the words that ask.

Pure domain rules with no I/O. A guardian (or an adult student) applies for leave for
some school days, or hours of one; the school decides each day. Who decides is a school
setting by length in school days (`LeaveRules`): up to `mentor_max_days` the mentor,
longer the principal. An application the mentor leaves unanswered for
`escalate_after_days` school days goes to the principal.

The defaults, the same in the three countries (README "Leave applications"):
- Sweden: the principal may grant short leave for personal reasons, and longer only in
  exceptional cases (skollagen 7 kap. 18 §); many schools let the mentor decide a day or
  two, so the mentor decides up to 2 school days.
- Norway: the school (rektor) decides "permisjon"; contact teachers commonly decide a
  day or two: the contact teacher (our mentor) up to 2 school days.
- Denmark: the school leader decides "ekstraordinær frihed"; class teachers commonly
  decide a day or two: the same default.
A school changes them with `narvaro leave set`.

How granted leave counts in a ladder is the plan's, a `[counting]` key `leave` in each
preset ("absence": counted as absence that is not unexcused; "none": not counted).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from policy.calendar import SchoolCalendar
from policy.freetext import fold, is_undo, parse_reason, words

#: Letters and digits that cannot be misread on a phone screen (as report references).
_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
MENTOR, PRINCIPAL = "mentor", "principal"
#: Why days were refused, as a decider picks it (or writes their own: "other").
REFUSALS = ("exam", "tests", "absence", "other")
#: How a plan counts granted leave (a ladder's `[counting]` `leave`).
LEAVE_COUNTING = ("absence", "none")
#: A decision on one day.
PENDING, GRANTED, REFUSED = "pending", "granted", "refused"
#: An application's status: days still to decide, all decided, taken back by its applicant.
DECIDED, WITHDRAWN = "decided", "withdrawn"
#: The longest application, in calendar days (a school year's worth is for the office).
MAX_SPAN_DAYS = 62
#: How far ahead one may apply, in calendar days.
HORIZON_DAYS = 365


@dataclass(frozen=True)
class LeaveRules:
    """Who decides leave, and when an unanswered application moves to the principal."""

    #: Up to this many school days the mentor decides; longer, the principal (0: always
    #: the principal).
    mentor_max_days: int = 2
    #: An application the mentor has not answered in this many school days goes to the
    #: principal.
    escalate_after_days: int = 2


#: The defaults per country (see the module's docstring); any other country: LeaveRules().
COUNTRY_RULES: dict[str, LeaveRules] = {
    "SE": LeaveRules(mentor_max_days=2, escalate_after_days=2),
    "NO": LeaveRules(mentor_max_days=2, escalate_after_days=2),
    "DK": LeaveRules(mentor_max_days=2, escalate_after_days=2),
}
#: The school setting holding a school's own rules (`{"mentor_max_days": 1, ...}`).
SETTING = "leave"


def rules_for(country: str, settings: Mapping[str, Any] | None = None) -> LeaveRules:
    """The leave rules of a school in `country` with its own `settings` applied."""
    base = COUNTRY_RULES.get(country.upper(), LeaveRules())
    own = (settings or {}).get(SETTING)
    if not isinstance(own, Mapping):
        return base
    values = {key: int(value) for key, value in own.items()
              if key in ("mentor_max_days", "escalate_after_days") and str(value).isdecimal()}
    return replace(base, **values)


def setting_problem(key: str, value: str) -> str | None:
    """Why `key=value` is no leave setting, or None when it is one."""
    if key not in ("mentor_max_days", "escalate_after_days"):
        return f"{key!r} is not mentor_max_days or escalate_after_days"
    if not value.isdecimal() or int(value) > 60:
        return f"{key} must be a whole number of school days (0 to 60)"
    return None


def decider_role(school_days: int, rules: LeaveRules) -> str:
    """Who decides an application of this many school days: "mentor" or "principal"."""
    return MENTOR if 0 < school_days <= rules.mentor_max_days else PRINCIPAL


def escalation_due(applied_on: date, today: date, calendar: SchoolCalendar,
                   rules: LeaveRules) -> bool:
    """Whether an application made on `applied_on`, unanswered, goes to the principal
    `today` (after `escalate_after_days` school days)."""
    try:
        return calendar.add_school_days(applied_on, max(rules.escalate_after_days, 1)) <= today
    except ValueError:
        return False


#: An application's reference as written ("L-7K3QF", "l-7k3qf").
_REFERENCE = re.compile(r"(?<![\w-])L-([A-Z0-9]{5})(?![\w-])", re.IGNORECASE)
#: Words that take an application back, with its reference ("återkalla L-7K3QF"); the
#: cancel and undo words say it too ("avbryt L-7K3QF", "jooji L-7K3QF", "ሰርዝ L-7K3QF"),
#: so every language has one.
_WITHDRAW = frozenset(fold(word) for word in (
    "återkalla", "återkallar", "återta", "återtar",
    "tilbakekall", "tilbakekaller", "trekk",
    "tilbagekald", "tilbagekalder", "træk",
    "withdraw", "retract",
    "سحب", "اسحب",
    "відкликати", "відкликаю", "відкличте",
    "wycofaj", "wycofuję", "wycofać",
))
#: A withdrawal is a short message: the words and the reference, little else.
_MAX_WITHDRAW_WORDS = 5


def withdrawal_reference(text: str) -> str | None:
    """The reference of the application a short message takes back ("Återkalla L-7K3QF",
    "withdraw l-7k3qf", "avbryt L-7K3QF"), uppercase; None when it asks no such thing."""
    found = _REFERENCE.findall(text)
    if len(found) != 1:
        return None
    rest = [fold(word) for word in words(_REFERENCE.sub(" ", text))]
    if not rest or len(rest) > _MAX_WITHDRAW_WORDS:
        return None
    if not any(word in _WITHDRAW or is_undo(word) for word in rest):
        return None
    return f"L-{found[0].upper()}"


def new_leave_reference() -> str:
    """A short application reference a guardian can read out ("L-7K3QF")."""
    return "L-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))


def _folded(*items: str) -> frozenset[str]:
    return frozenset(fold(item) for item in items)


#: Words that name leave itself: a message with one is an application.
_LEAVE_NOUNS = _folded(
    "ledighet", "ledigheten", "ledighetsansökan", "ledighetsansokan", "ledigt",
    "permisjon", "permisjonssøknad", "permisjonen", "permission",
    "fri", "fridag", "fridage", "fritagelse",
    "leave", "absence",
    "إجازة", "اجازة", "إذن",
    "fasax", "ogolaansho",
    "ፍቓድ", "ዕረፍቲ",
    "مرخصی", "اجازه",
    "відпустку", "відпустка", "відпустки", "дозвіл", "звільнення",
    "zwolnienie", "zwolnienia", "urlop", "urlopu",
)
#: Words that are an application whatever else the message says.
_STRONG_ALWAYS = _folded("ledighetsansökan", "ledighetsansokan", "permisjon",
                         "permisjonssøknad", "ansøgning")
#: "ledig" and "fri" ask for leave in a question or with a modal verb ("Kan Elsa vara
#: ledig?", "Får Ali ledigt?"); said plainly they report an absence ("Ali är ledig idag").
_ASKING = _folded(
    "kan", "får", "ansöker", "ansöka", "ansökan", "söker", "søker", "søknad", "søke",
    "ansøger", "ansøgning", "ansøge", "må", "may", "can", "could", "apply", "applying",
    "application", "request", "requesting", "ask", "asking",
    "أطلب", "طلب", "codsi", "codsanayaa", "ሕቶ", "درخواست", "прошу", "заява",
    "proszę", "prośba", "wniosek", "czy",
)
_LEDIG = _folded("ledig", "ledige", "fri", "fritt")
#: "absence" and "leave" are also report words: only with an asking word are they leave.
_WEAK = _folded("absence", "leave", "fri", "ledigt", "fasax", "مرخصی", "اجازه", "urlop", "urlopu")


def is_leave_request(text: str) -> bool:
    """Whether a message asks for leave ("Kan Elsa vara ledig 15–19 mars?", "Can Ali have
    leave 3–5 May", "søknad om permisjon", "ansøgning om fri"), rather than reporting an
    absence."""
    said = {fold(word) for word in words(text)}
    if parse_reason(text) in ("sick", "medical") and not said & _STRONG_ALWAYS:
        return False  # "can you tell the teacher Ali is sick": a report
    asking = bool(said & _ASKING) or "?" in text or "؟" in text
    strong = said & (_LEAVE_NOUNS - _WEAK)
    if strong:
        return True
    return asking and bool(said & (_LEDIG | _WEAK))
