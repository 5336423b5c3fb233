"""What a guardian's message says, read as a careful person would: who, which days, why.

Pure domain rules with no I/O. `read` takes one message and the names of the writer's
children and returns what it names (children, days, reason) and what it leaves unclear,
so that a report is recorded from the first message when it is complete, and only what
is missing is asked. Unclear is never guessed: a time word that is not understood, a
group that does not fit the family ("both" with three children), or a child who is not
the writer's, leaves the field open to be asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from policy.dayparse import DaySpan, parse_days
from policy.freetext import (
    contains_run,
    first_name_parts,
    fold,
    name_parts,
    parse_reason,
    typed_words,
    words,
)


def _folded(*items: str) -> frozenset[str]:
    return frozenset(fold(item) for item in items)


# Past-tense verbs: a weekday in a sentence about the past is the latest one before today.
_PAST = _folded(
    "var", "varit", "blev", "missade", "stannade", "låg", "hade",  # sv
    "vært", "ble", "lå", "hadde",  # nb
    "været", "havde",  # da
    "was", "were", "wasnt", "werent", "missed", "stayed", "had", "been",  # en
    "كان", "كانت", "غاب", "غابت",  # ar
    "jiray", "jirtay", "ahaa", "ahayd", "buktay", "maqnaa", "maqnayd",  # so
    "ነይሩ", "ነይራ", "ነይሮም",  # ti
    "بود", "بودند", "نبود", "نیامد", "نیومد",  # fa
    "був", "була", "було", "були", "хворів", "хворіла", "пропустив", "пропустила",  # uk
    "był", "była", "było", "byli", "chorował", "chorowała", "opuścił", "opuściła",  # pl
)
# Present perfect ("har varit sjuk", "has been vomiting") is about now: not past.
_PARTICIPLES = _folded("varit", "vært", "været", "been")
_HAVE = _folded("har", "has", "have", "hes", "shes")
# A single clock time with no range: "kl 13", "kl. 9.30", "at 2pm".
_LONE_CLOCK_RE = re.compile(
    r"(?:\b(?:kl|klockan|klokka|klokken|at)\.?\s*[0-9]{1,2}(?:[:.][0-9]{2})?\b(?!\s*[-–]\s*[0-9])"
    r"|\b[0-9]{1,2}(?:[:.][0-9]{2})?\s*(?:am|pm)\b)",
    re.IGNORECASE,
)
# Words that say a child is away without saying why.
_AWAY = _folded(
    "hemma", "borta", "ledig", "ledigt", "frånvarande", "frånvaro", "bortrest", "stannar",
    "hjemme", "borte", "fri", "fravær", "fraværende", "fravaer", "væk",
    "absent", "off", "home", "away", "missing", "miss", "staying", "stay",
    "غائب", "غائبة", "غياب", "البيت", "المنزل",
    "maqan", "maqnaan", "guriga", "fasax",
    "ገዛ", "ኣይክመጽእን", "ኣይመጽእን", "ኣይክኸይድን",
    "غایب", "غیبت", "خانه", "نمیاد", "نمی‌آید", "نمیآید", "مرخصی",
    "відсутній", "відсутня", "відсутні", "вдома",
    "nieobecny", "nieobecna", "nieobecność", "nieobecni", "domu",
)
# Coming, going, being: away when negated ("kommer inte", "won't be in", "не прийде").
_AWAY_IF_NEGATED = _folded(
    "kommer", "går", "kommer", "kommet", "kan", "komme", "går", "gå", "kommer",
    "coming", "come", "going", "go", "be", "make", "attend", "attending",
    "يحضر", "يأتي", "يذهب", "imanayo", "iman", "imaan", "tagayo", "aadi",
    "ይመጽእ", "ይኸይድ", "میاد", "میره", "میرود", "میآید",
    "прийде", "піде", "буде", "przyjdzie", "pójdzie", "będzie",
)
_NEGATIONS = _folded(
    "inte", "ej", "icke", "ikke", "ikkje", "not", "wont", "cant", "cannot", "isnt", "wouldnt",
    "لن", "لا", "ma", "aan", "ኣይ", "نمی", "نه", "не", "nie",
)
# Reasons outside the reason words: a trip, a holiday, a religious feast are "other".
_OTHER_AWAY = (
    "semester", "bortrest", "resa", "reser", "resan", "ferie", "ferien", "reise", "rejse",
    "holiday", "vacation", "trip", "travel", "travelling", "traveling", "eid", "عيد", "سفر",
    "safar", "ciid", "ዓመት", "عید", "відпустк", "подорож", "wyjazd", "wakacj", "urlop", "święt",
)
# The day a child is back: "kommer tillbaka imorgon" is away until then, not on that day.
_BACK = _folded("tillbaka", "åter", "tilbake", "tilbage", "back", "igen", "again",
                "з'явиться", "wraca", "wróci", "ku soo laabanayo", "soo laabanayaa", "يعود",
                "برمیگردد", "ይምለስ")
# "jutro też w domu": the day named as well as the first day meant.
_ALSO = _folded("också", "även", "også", "also", "too", "też", "także", "теж", "також",
                "أيضا", "ايضا", "هم", "ውን")
# Part of a day, with no hours: the hours are asked ("kommer senare", "after lunch").
_PART_OF_DAY = _folded(
    "senare", "sent", "förmiddag", "förmiddagen", "eftermiddag", "eftermiddagen", "lunch",
    "lunchen", "tidigare", "senere", "formiddag", "formiddagen", "ettermiddag",
    "ettermiddagen", "lunsj", "lunsjen", "frokost", "frokosten", "later", "late", "morning",
    "afternoon", "early", "بعدالظهر", "الظهر", "متأخر", "متاخر", "goor dambe", "dambe",
    "galabnimo", "ደንጉዩ", "ድሒሩ", "دیرتر", "دیر", "بعدازظهر", "ظهر", "пізніше", "запізн",
    "później", "spóźni", "południu",
)
# Words about time that the day reader did not place: the days are asked, not assumed.
_TIME_WORDS = (
    "dag", "dagar", "dager", "dage", "days", "day", "vecka", "veckor", "uke", "uker", "uge",
    "uger", "week", "weeks", "månad", "måned", "month", "timme", "timmar", "timer", "hour",
    "hours", "lektion", "lektioner", "lesson", "lessons", "termin", "أيام", "يوم", "يومين",
    "أسبوع", "maalmood", "maalin", "toddobaad", "መዓልቲ", "ሰሙን", "روز", "روزه", "هفته",
    "день", "дні", "днів", "тиждень", "dni", "dzień", "dnia", "tydzień", "godzin",
)
# "the whole day": today, not a day to ask about.
_WHOLE_DAY = (
    ("hela", "dagen"), ("hele", "dagen"), ("all", "day"), ("whole", "day"), ("cały", "dzień"),
    ("весь", "день"), ("كل", "اليوم"), ("maalinta", "oo", "dhan"), ("تمام", "روز"),
)
_THANKS = _folded(
    "tack", "tackar", "takk", "tusen", "thanks", "thank", "thx", "ty", "cheers", "شكرا", "شكراً",
    "mahadsanid", "mahadsanidin", "የቐንየለይ", "የቐንየልና", "የቀንየለይ", "ممنون", "مرسی", "سپاس",
    "дякую", "спасибі", "dziękuję", "dzięki", "dziekuje",
)
# Danish "tak" is thanks, Polish "tak" is yes: either way not a report.
_ACK = _folded(
    "ok", "okej", "okay", "oki", "okei", "vet", "ved", "know", "knew", "noted", "understood",
    "förstått", "forstått", "forstået", "tak", "ja", "yes", "haa", "hagaag", "እወ", "ሕራይ",
    "باشه", "بله", "میدونم", "میدانم", "نعم", "طيب", "حسنا", "اعرف", "أعرف", "знаю", "добре",
    "так", "wiem", "dobrze", "jasne", "👍",
)
_QUESTION_WORDS = _folded(
    "när", "hur", "vad", "varför", "vilken", "vilka", "når", "hvordan", "hva", "hvad",
    "hvorfor", "hvilken", "when", "how", "what", "why", "where", "which", "متى", "كيف", "ماذا",
    "لماذا", "goorma", "sidee", "maxay", "maxaa", "ከመይ", "መዓስ", "ስለምንታይ", "کی", "چرا",
    "چطور", "коли", "чому", "як", "що", "kiedy", "dlaczego", "jak", "co", "czy",
)
# Words for "both" and "all": the children of the message are all the writer's (when the
# count fits).
# A child said to be well: "Lucy is fine", "Sara är frisk", "Ola er i skolen".
_WELL = _folded(
    "fine", "frisk", "pigg", "rask", "healthy",
    "سليم", "سليمة", "بخير", "caafimaad", "ጥዒና", "سالم", "здоровий", "здорова", "zdrowy",
    "zdrowa",
)
_BOTH = _folded(
    "båda", "bägge", "begge", "both", "كلاهما", "الاثنين", "الاثنان", "labadaba", "labada",
    "ክልቲኦም", "ክልቲአን", "هردو", "обидва", "обидві", "обоє", "oboje", "obaj", "obie",
    "obydwoje",
)
_ALL = _folded(
    "alla", "alle", "all", "everyone", "جميع", "كل", "dhammaan", "ኩሎም", "ኩለን", "همه",
    "всі", "усі", "wszystkie", "wszyscy",
)
_CHILDREN = _folded(
    "barnen", "barna", "børnene", "ungarna", "ungene", "ungerne", "kids", "children",
    "childs", "boys", "girls", "pojkarna", "flickorna", "tjejerna", "killarna", "grabbarna",
    "guttene", "jentene", "drengene", "pigerne", "الأطفال", "الاطفال", "اولادي", "أولادي",
    "الأولاد", "carruurta", "caruurta", "carruurtu", "caruurtu", "ደቀይ", "ቆልዑ", "بچه‌ها",
    "بچهها", "بچه", "діти",
    "дітей", "dzieci", "dzieciaki",
)
_COUNTS = {
    **dict.fromkeys(_folded("två", "to", "two", "tvåa", "اثنين", "laba", "ክልተ", "دو", "двоє",
                            "dwoje", "dwa", "dwie"), 2),
    **dict.fromkeys(_folded("tre", "three", "ثلاثة", "saddex", "ሰለስተ", "سه", "троє", "troje",
                            "trzy"), 3),
    **dict.fromkeys(_folded("fyra", "fire", "four", "أربعة", "afar", "ኣርባዕተ", "چهار",
                            "четверо", "czworo"), 4),
}


@dataclass(frozen=True)
class Reading:
    """What one message says.

    `children` are indexes into the writer's children (empty: none named); `other_child`
    is set when the message names a child who is not the writer's. `span` is None when no
    day is named; `day_unclear` when a time word was not understood (the day is asked,
    never assumed); `part_unclear` when part of a day is meant without hours.
    """

    children: tuple[int, ...] = ()
    children_unclear: bool = False
    other_child: bool = False
    span: DaySpan | None = None
    day_unclear: bool = False
    part_unclear: bool = False
    past: bool = False
    reason: str | None = None
    away: bool = False
    thanks: bool = False
    acknowledgement: bool = False
    question: bool = False

    @property
    def is_report(self) -> bool:
        """Whether the message reports an absence (perhaps with parts missing)."""
        if self.question and self.reason is None:
            return False
        if self.reason is not None or self.away:
            return True
        # "Ali imorgon", "24/11": a child or a day on its own asks for what is missing.
        return self.span is not None or (bool(self.children) and not self.thanks
                                         and not self.acknowledgement)


# Ukrainian names written in Cyrillic are the roster's Latin ones ("Тарас" is Taras).
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "y", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "yu",
    "я": "ya", "ё": "yo", "ы": "y", "э": "e", "ъ": "",
})


def _latin(word: str) -> str:
    """A Cyrillic word in Latin letters, folded as names are ("андрій" → "andriy")."""
    return fold(word.translate(_CYRILLIC)) if any("\u0400" <= c <= "\u04ff" for c in word) \
        else word


# Arabic-script names match the roster's Latin spelling by their consonants ("لينا", Lina;
# "رضا", Reza): vowels, the letters that write them and the h-sounds are left out on both
# sides, and sounds that the two scripts write differently share one class.
_ARABIC_CONSONANTS = str.maketrans({
    "ب": "b", "پ": "b", "ت": "t", "ط": "t", "ث": "s", "س": "s", "ص": "s", "ج": "j",
    "چ": "S", "ش": "S", "د": "d", "ذ": "d", "ز": "d", "ض": "d", "ظ": "d", "ژ": "d", "ر": "r",
    "ف": "f", "ق": "k", "ك": "k", "ک": "k", "خ": "k", "گ": "g", "غ": "g", "ل": "l",
    "م": "m", "ن": "n",
    **{letter: None for letter in "اآأإءعهةحيىوئؤی"},
})
_LATIN_SOUNDS = (("sh", "S"), ("ch", "S"), ("kh", "k"), ("gh", "g"), ("th", "t"),
                 ("ph", "f"), ("q", "k"), ("c", "k"), ("z", "d"), ("v", "f"), ("p", "b"))


def _arabic_skeleton(word: str) -> str:
    return word.translate(_ARABIC_CONSONANTS) if all(
        "\u0600" <= char <= "\u06ff" or char == "\u200c" for char in word) else ""


def _latin_skeleton(name: str) -> str:
    name = fold(name)
    for sound, letter in _LATIN_SOUNDS:
        name = name.replace(sound, letter)
    return "".join(char for char in name if char.isascii() and char.isalpha()
                   and char not in "aeiouyhw")


def _by_consonants(text: str, first: Sequence[Sequence[str]]) -> set[int]:
    """Children whose Latin first name an Arabic-script word of `text` spells."""
    skeletons = [_latin_skeleton(parts[0]) if parts else "" for parts in first]
    found = set()
    for word in words(text):
        if word.startswith("ال") or _known_word(fold(word)):
            continue  # "اليوم", "مريض": words, not names
        skeleton = _arabic_skeleton(word)
        if len(skeleton) < 2:
            continue
        matches = [index for index, name in enumerate(skeletons) if name == skeleton]
        if len(matches) == 1:
            found.add(matches[0])
    return found


def named_children(text: str, names: Sequence[str]) -> tuple[int, ...]:
    """The indexes of every child in `names` that `text` names, by full or first name.

    A full name settles two children sharing a first name ("Ali Berg", "Ali Hassan"); a
    first name shared by two children named only by it names neither. A name written in
    Cyrillic letters matches its Latin spelling ("Тарас", Taras).
    """
    said = [_latin(fold(word)) for word in words(text)]
    full = [name_parts(name) for name in names]
    first = [first_name_parts(name) for name in names]
    by_full = {index for index, parts in enumerate(full) if contains_run(said, parts)}
    by_first = {index for index, parts in enumerate(first) if contains_run(said, parts)}
    by_first |= _by_consonants(text, first)
    # "Anna-Karin" names Anna-Karin, not also her sister Anna.
    by_first = {
        index for index in by_first
        if not any(len(first[other]) > len(first[index])
                   and contains_run(first[other], first[index]) for other in by_first)
    }
    found = set(by_full)
    for index in by_first - by_full:
        if any(first[index] == first[taken] for taken in by_full):
            continue  # accounted for by a sibling's full name
        if sum(1 for parts in first if parts == first[index]) > 1:
            continue  # two children share it: neither is named
        found.add(index)
    return tuple(sorted(found))


@dataclass(frozen=True)
class _Student:
    """One of the school's other students, as `_names_other_child` compares names."""

    name: str
    #: The folded first word as written ("anna-karin"), matched against the writer's name.
    lead: str
    full: tuple[str, ...]
    first: tuple[str, ...]


@dataclass(frozen=True)
class _SchoolNames:
    """A school's student names by the word they start with: a message is compared with
    the few names that start with one of its words, not with every name at the school."""

    #: Names of two or more words, by their first word.
    full: dict[str, tuple[_Student, ...]]
    #: Names whose first name is one word, by that word.
    first: dict[str, tuple[_Student, ...]]


@lru_cache(maxsize=64)
def _school_names(names: tuple[str, ...]) -> _SchoolNames:
    """The index of a school's names, built once per roster (the same names give the same
    index, so a school's messages share it until the roster changes)."""
    full: dict[str, list[_Student]] = {}
    first: dict[str, list[_Student]] = {}
    for name in names:
        tokens = name.split()
        student = _Student(name, fold(tokens[0]) if tokens else "", tuple(name_parts(name)),
                           tuple(first_name_parts(name)))
        if len(student.full) > 1:
            full.setdefault(student.full[0], []).append(student)
        if len(student.first) == 1:
            first.setdefault(student.first[0], []).append(student)
    return _SchoolNames({word: tuple(found) for word, found in full.items()},
                        {word: tuple(found) for word, found in first.items()})


def _names_other_child(text: str, own: Sequence[str], others: Sequence[str],
                       writer: str = "") -> bool:
    """Whether `text` names a child in `others` (the school's other students) who is not
    one of `own`. A first name counts when written with a capital (or in a script without
    case) and not shared with one of the writer's children. A student whose name is one of
    `own`, or whose first name is a word of the `writer`'s own name (a signature, "Mvh
    Omar"), is never counted."""
    said = [fold(word) for word in words(text)]
    typed = typed_words(text)
    own_first = {tuple(first_name_parts(name)) for name in own}
    own_full = {tuple(name_parts(name)) for name in own}
    signed = {fold(word) for word in writer.split()}
    index = _school_names(tuple(others))

    def counts(student: _Student) -> bool:
        return (student.name not in own and student.lead not in signed
                and student.full not in own_full)

    for position, word in enumerate(said):
        for student in index.full.get(word, ()):
            size = len(student.full)
            if tuple(said[position:position + size]) == student.full and counts(student):
                return True
        capital = position < len(typed) and not typed[position][:1].islower()
        if not capital or _known_word(word):
            continue
        if any(student.first not in own_first and counts(student)
               for student in index.first.get(word, ())):
            return True
    return False


def _known_word(word: str) -> bool:
    """A word this reader knows as something other than a name ("Dag" is Norwegian for a
    day and a name)."""
    return (word in _AWAY or word in _PAST or word in _THANKS or word in _ACK
            or word in _TIME_WORDS_FOLDED or word in _CHILDREN or word in _BOTH
            or word in _ALL or parse_reason(word) is not None)


_TIME_WORDS_FOLDED = _folded(*_TIME_WORDS)
_WHOLE_DAY_FOLDED = tuple(tuple(fold(word) for word in phrase) for phrase in _WHOLE_DAY)


def _group(said: list[str], count: int) -> tuple[bool, bool]:
    """(the message names all the children as a group, the group does not fit the family)."""
    counted = next((_COUNTS[word] for word in said if word in _COUNTS), None)
    if any(word in _BOTH for word in said):
        return True, count != 2
    has_all = any(word in _ALL for word in said)
    has_children = any(word in _CHILDREN for word in said)
    if has_all and counted is not None:
        return True, counted != count
    if has_children or (has_all and _followed_by_children(said)):
        if counted is not None and counted != count:
            return True, True
        return True, count < 2
    return False, False


def _followed_by_children(said: list[str]) -> bool:
    return any(word in _ALL and position + 1 < len(said) and said[position + 1] in _CHILDREN
               for position, word in enumerate(said))


def _perfect(said: list[str], position: int) -> bool:
    """Whether the participle at `position` follows "has"/"har" ("has been vomiting"): the
    present perfect speaks of now, not of a day before today."""
    return said[position] in _PARTICIPLES and position > 0 and said[position - 1] in _HAVE


def _time_unclear(said: list[str], has_digits: bool) -> bool:
    """Whether the message speaks of time in a way the day reader did not place."""
    rest = list(said)
    for phrase in _WHOLE_DAY_FOLDED:
        for start in range(len(rest) - len(phrase) + 1):
            if tuple(rest[start:start + len(phrase)]) == phrase:
                rest[start:start + len(phrase)] = ["_"] * len(phrase)
    return has_digits or any(word in _TIME_WORDS_FOLDED for word in rest)


def read(
    text: str, names: Sequence[str], language: str, today: date, *, start: date,
    others: Sequence[str] = (), writer: str = "",
) -> Reading:
    """Read a guardian's message.

    `names` are the writer's children (for whom they may report), `others` the names of
    the students at their school (a message naming one who is not the writer's child is
    not applied to the writer's child), `writer` the writer's own name (a signature names
    no child), `start` the first day meant when no day is named (today on a school
    day before its end, else the next school day).
    """
    said = [fold(word) for word in words(text)]
    past = any(word in _PAST and not _perfect(said, position)
               for position, word in enumerate(said))
    span = parse_days(text, language, today, start=start, past=past, strict=True)
    several = span is None and parse_days(text, language, today, start=start,
                                          past=past) is not None
    if span is not None and span.part_start is None and span.first == span.last \
            and span.first > start:
        if any(word in _BACK for word in said):
            span = DaySpan(start, span.first - timedelta(days=1))
        elif any(word in _ALSO for word in said):
            span = DaySpan(start, span.first)
    reason = parse_reason(text)
    if reason is None and any(word.startswith(_OTHER_AWAY_FOLDED) for word in said):
        reason = "other"
    children = named_children(text, names)
    children_unclear = False
    if len(children) > 1 and any(word in _WELL for word in said):
        # "Adam is sick, Lucy is fine": who is away is asked, not read as both.
        children, children_unclear = (), True
    grouped, misfit = _group(said, len(names))
    if grouped and not children:
        if misfit:
            children_unclear = True
        else:
            children = tuple(range(len(names)))
    # "går hem kl 13", "at 2pm": part of a day whose other end is not said; asked, never
    # read as the whole day.
    lone_clock = (span is None or span.part_start is None) and bool(_LONE_CLOCK_RE.search(text))
    digits = any(char.isdigit() for char in _LONE_CLOCK_RE.sub(" ", text))
    day_unclear = several or (span is None and _time_unclear(said, digits))
    part_unclear = (span is None or span.part_start is None) and (lone_clock or any(
        word in _PART_OF_DAY for word in said))
    question = "?" in text or "؟" in text or bool(said and said[0] in _QUESTION_WORDS)
    negated = any(word in _NEGATIONS for word in said)
    away = any(word in _AWAY for word in said) or (negated and any(
        word in _AWAY_IF_NEGATED for word in said)) or bool(
        reason is None and span is not None and span.part_start is not None)
    return Reading(
        children=children,
        children_unclear=children_unclear,
        other_child=_names_other_child(text, names, others, writer),
        span=span,
        day_unclear=day_unclear,
        part_unclear=part_unclear,
        past=past,
        reason=reason,
        away=away,
        thanks=any(word in _THANKS for word in said),
        acknowledgement=reason is None and not away and span is None and (
            any(word in _ACK for word in said) or "👍" in text),
        question=question,
    )


_OTHER_AWAY_FOLDED = tuple(fold(word) for word in _OTHER_AWAY)
