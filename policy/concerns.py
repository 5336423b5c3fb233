"""Concerns raised by people, and the cause mapping that prepares the meeting after. Pure
rules: no I/O.

The warning signals are Ljusnarsberg's (seed 000): "Yttre varningssignal — var observant
på: Trötthet, Vantrivsel, Beteendeproblem, Mobbning, Utanförskap, Drogmissbruk,
Självskadebeteende" and "Inre varningssignal — lyssna på eleven: Brist på sammanhang,
Huvudvärk, magont, oro, Nedstämdhet, Mobbning, Psykisk ohälsa, Prestationsångest,
Sömnbrist, Nätkränkning" (bullying, in both lists, once). The seven areas are Lyngen's
"Årsakskartlegging" (seed 004), each answered by how much it fills the box: 0–100 %.
"""

from __future__ import annotations

from collections.abc import Mapping

from policy.freetext import fold, words

#: Staff's warning signals, outer then inner.
SIGNALS = (
    "tiredness", "not_thriving", "behaviour", "bullying", "exclusion", "drugs", "self_harm",
    "no_belonging", "aches_worry", "low_mood", "mental_health", "performance_anxiety",
    "lack_of_sleep", "online_abuse",
)
#: The cause mapping's areas, in the seed's order.
AREAS = ("school_hard", "behind", "other_activity", "belonging", "mental", "physical", "home")
#: The answer to an area, 0–4, as the share of the box it fills.
SCALE = (0, 25, 50, 75, 100)
#: The longest note kept with a concern (staff's note, a guardian's words).
MAX_NOTE = 500

_SCHOOL = ("skol", "school", "skole")
#: Word runs that say "does not want to" / "refuses" (sv, nb, da, en), to be followed by
#: a word for school in the same message.
_REFUSING = tuple(" ".join(fold(w) for w in words(run)) for run in (
    "vill inte", "vägrar", "orkar inte", "vil ikke", "nekter", "nægter", "gider ikke",
    "refuses", "refuse", "won't", "wont", "will not", "doesn't want", "does not want",
    "do not want", "don't want",
))
#: A child begging to stay at home (seed 002: "ber om å få være hjemme").
_STAY_HOME = tuple(" ".join(fold(w) for w in words(run)) for run in (
    "vill stanna hemma", "vill vara hemma", "få stanna hemma", "vil være hjemme",
    "få være hjemme", "vil blive hjemme", "at blive hjemme", "begs to stay home",
    "wants to stay home", "begs to stay at home", "wants to stay at home",
))


#: How a word for bullying begins, folded (sv mobbad/mobbning/kränkt, nb mobbet/mobbing,
#: da mobbet/mobning/krænket, en bullied/bullying, pl prześladowany/nękany, uk булінг/
#: цькують, ar تنمر, fa قلدری/زورگویی): Ljusnarsberg's "Mobbning", in both lists of
#: warning signals.
_BULLYING = tuple(fold(stem) for stem in (
    "mobb", "mobning", "kränk", "krænk", "bully", "bullie", "prześladow", "nękany",
    "nękana", "nękanie", "булінг", "цьку", "تنمر", "يتنمر", "قلدر", "زورگوی",
))


def says_bullying(text: str) -> bool:
    """Whether a message tells of bullying ("Ali blir mobbad", "she is being bullied")."""
    return any(fold(word).startswith(_BULLYING) for word in words(text))


def says_refusal(text: str) -> bool:
    """Whether a guardian's message says the child refuses, or begs not, to go to school
    ("han vill inte gå till skolan", "hun nekter å gå på skolen", "he refuses to go to
    school", "she begs to stay home")."""
    folded = [fold(w) for w in words(text)]
    joined = f" {' '.join(folded)} "
    school = any(w.startswith(_SCHOOL) for w in folded)
    refusing = any(f" {run} " in joined for run in _REFUSING)
    return (school and refusing) or any(f" {run} " in joined for run in _STAY_HOME)


def scale_percent(answer: int) -> int:
    """The share an answer 0–4 stands for (0 %–100 %)."""
    return SCALE[max(0, min(answer, len(SCALE) - 1))]


def heaviest(answers: Mapping[str, int]) -> list[str]:
    """The areas answered, heaviest first (ties in the seed's order)."""
    return sorted((a for a in AREAS if a in answers), key=lambda a: (-answers[a], AREAS.index(a)))


def next_area(answers: Mapping[str, int]) -> str | None:
    """The first area not answered yet, or None when the mapping is complete."""
    return next((area for area in AREAS if area not in answers), None)
