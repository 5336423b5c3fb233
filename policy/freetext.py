"""Free-text replies from guardians: absence reasons, yes/no, cancel, and which child.

Pure domain rules with no I/O. Guardians write in Swedish, Norwegian Bokmål, Danish, English,
Arabic, Somali, Tigrinya, Persian (Farsi and Dari), Ukrainian or Polish, often mixed, fast, on
phones: every matcher ignores case, punctuation and missing diacritics ("lakare" for "läkare",
"forkjolet" for "forkjølet", "i gaar" for "i går", "dzis" for "dziś").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

REASONS = ("sick", "medical", "family", "other")
"""Absence reasons, in the order a guardian is offered them."""

# Letters, digits and combining marks (NFD input from some phones, Arabic harakat). A zero-width
# non-joiner inside a Persian word ("سه‌شنبه") and an apostrophe inside a Ukrainian one
# ("п'ятниця", "сім'я") do not end the word.
_LETTERS = r"(?:[^\W_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670])+"
_WORD_RE = re.compile(
    rf"{_LETTERS}(?:(?:\u200c|(?<=[\u0400-\u04ff])['\u2019](?=[\u0400-\u04ff])){_LETTERS})*"
)
_TATWEEL = "\u0640"
_FOLD_MAP = str.maketrans(
    {
        "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l", "ґ": "г", "ة": "ه", "ى": "ي",
        # Persian letters fold to the Arabic ones that look alike: ی → ي, ک → ك, ۀ → ه.
        "\u06cc": "\u064a", "\u06a9": "\u0643", "\u06d5": "\u0647",
        # Zero-width non-joiner (Persian) and apostrophes (Ukrainian) are left out.
        "\u200c": None, "'": None, "\u2019": None, "\u02bc": None,
    }
)


def words(text: str) -> list[str]:
    """The lowercase words of `text`: letters and digits kept, punctuation and emoji dropped.

    A zero-width non-joiner between letters (Persian "سه‌شنبه") and an apostrophe between
    Cyrillic letters (Ukrainian "п'ятниця") stay inside the word.
    """
    return _WORD_RE.findall(unicodedata.normalize("NFC", text).replace(_TATWEEL, "").lower())


def typed_words(text: str) -> list[str]:
    """The words of `text` as typed (case kept), in the same split as `words`."""
    return _WORD_RE.findall(unicodedata.normalize("NFC", text).replace(_TATWEEL, ""))


@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """`word` lowercased without diacritics, for comparing what guardians type.

    Nordic letters typed on foreign keyboards fold to the same key: å/aa → a, ä → a,
    ö/ø/oe → o, æ → ae; Polish ł → l, Ukrainian ї → і, й → и, ґ → г. Arabic hamza forms of
    alef fold to bare alef (أمس → امس), ة to ه, ى to ي, and harakat are dropped; Persian ی,
    ک and ۀ fold to Arabic ي, ك and ه. The zero-width non-joiner and apostrophes are dropped
    (پس‌فردا → پسفردا, п'ятниця → пятниця).
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    bare = bare.replace(_TATWEEL, "").translate(_FOLD_MAP)
    return bare.replace("aa", "a").replace("oe", "o")


def _folded(items: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(item) for item in items)


def _folded_tuple(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(fold(item) for item in items)


class _Vocabulary:
    """The words of one reason: whole words, word starts (inflections) and parts (compounds)."""

    def __init__(
        self, exact: Iterable[str], starts: Iterable[str] = (), parts: Iterable[str] = ()
    ) -> None:
        self.exact = _folded(exact)
        self.starts = _folded_tuple(starts)
        self.parts = _folded_tuple(parts)

    def matches(self, word: str) -> bool:
        """True when the folded `word` is one of these words, or inflects or compounds one."""
        return (
            word in self.exact
            or word.startswith(self.starts)
            or any(part in word for part in self.parts)
        )


_MEDICAL = _Vocabulary(
    exact=(
        "bvc", "lege", "legen", "læge", "lægen", "doctor", "doctors", "dentist", "dentists",
        "appointment", "appointments", "hospital", "hospitalet", "clinic", "طبيب", "الطبيب",
        "موعد", "مستشفى", "المستشفى", "عيادة",
        "ballan", "ballanta",  # so: appointment
        "نوبت",  # fa: appointment ("نوبت دکتر")
        "прийом", "прийому",  # uk: appointment
    ),
    starts=(
        "legetime", "legevakt", "legesenter", "legekontor", "legebesøk", "lægetid",
        "lægebesøg", "lægevagt", "vaccin",
        "dhakhtar", "dhaqtar", "isbitaal", "cisbitaal",  # so: doctor, hospital
        "ሓኪም", "ሓካይም", "ዶክተር", "ሆስፒታል", "ሕክምና", "ቆጸራ", "ቆፀራ",  # ti: doctor, appointment
        "دکتر", "داکتر", "واکسن",  # fa (Dari "داکتر"): doctor, vaccine
        "лікар", "стоматолог", "дантист", "педіатр", "вакцин", "щеплен",  # uk (лікарня too)
        "lekarz", "lekarsk", "dentyst", "szpital", "przychodn", "wizyt", "pediatr",  # pl
        "szczepi",
    ),
    parts=(
        "läkar", "doktor", "tandläk", "tandlæge", "tannlege", "vårdcentral", "sjukhus",
        "sykehus", "sygehus", "orthodont", "tandreglering", "tannregulering", "sjukgymnast",
        "fysioterap", "sköterska", "sykepleier", "sygeplejersk", "helsesøster",
        "sundhedsplejersk", "optiker", "psykolog", "klinik",
        "ክሊኒክ",  # ti: clinic
        # fa: physician (دندانپزشک, a dentist), hospital (Dari شفاخانه), clinic, orthodontics
        "پزشک", "بیمارستان", "شفاخانه", "درمانگاه", "کلینیک", "ارتودنس",
        "клінік", "доктор", "ортодонт",  # uk
        "stomatolog", "ortodont", "fizjoterap", "psycholog",  # pl
    ),
)
_SICK = _Vocabulary(
    exact=(
        "ont", "vondt", "ondt", "dårlig", "sick", "ill", "unwell", "flu", "cold", "vomit",
        "vomiting", "vomited", "headache", "covid", "corona", "spyr", "kaster", "تعبان",
        "تعبانة", "حمى",
        # so: sick ("wuu bukaa", "way bukto"), illness
        "buka", "bukaa", "bukaan", "bukto", "bukay", "jirro",
        "تب", "تبدار", "تبداره", "درد", "سرما", "کرونا", "کووید",  # fa: fever, pain, cold
        "болить", "нудить", "ковід",  # uk: hurts, feels sick
        # pl: sick (the child, "dziecko", is neuter: "jest chore"), hurts, runny nose, cough
        "chory", "chora", "chore", "chorego", "chorej", "chorzy", "choruje", "chorują", "boli",
        "kaszel", "kaszle", "grypa", "grypę", "grypy", "grypie", "katar",
        # sv, nb, da, en: more of how people say it
        "krasslig", "krassligt", "hosta", "hostar", "snuva", "snorig", "hoste", "hoster",
        "kvalm", "kvalme", "poorly", "temperature", "cough", "coughing", "diarrhoea",
        "diarrhea", "nauseous", "puking", "tummy", "bug", "sore", "dålig", "dåligt",
        "sløj", "sløjt", "utilpas", "angina", "anginę", "anginy",
        "زكام", "صداع", "اسهال", "إسهال", "سعال", "كحة",  # ar: cold, headache, diarrhoea, cough
    ),
    # Inflections: sjuka, sjukt, sjukdom, sjukanmäler; syke, sykt, sykemeldt; syge, sygdom.
    starts=(
        "sjuk", "syk", "syg", "förkyl", "forkjøl", "forkøl", "feber", "fever", "kräk",
        "jiran", "jirran", "xanuun", "qandh", "hargab", "matag",  # so: sick, ill, fever, flu
        "ሓሚ", "ሕማም", "ሕሙም", "ረስኒ", "ጉንፋዕ", "ሰዓል", "ቃንዛ",  # ti: sick, fever, flu, pain
        # fa: sick (بیماری; بیمارستان is medical), unwell, cold, flu, vomiting
        "بیمار", "ناخوش", "سرماخورد", "آنفولانزا", "انفولانزا", "آنفلوآنزا", "استفراغ",
        "температур", "застуд", "грип", "нежит", "кашл", "кашел", "нездуж", "блюв",  # uk
        # pl: illness, cold, fever, flu, vomiting, diarrhoea, infection
        "chorob", "chorowa", "zachor", "przeziębi", "gorączk", "wymiot", "biegunk", "infekcj",
    ),
    parts=(
        "magsjuk", "influensa", "influenza", "magont", "halsont", "huvudvärk", "hodepine",
        # chickenpox, throat and ear infections, diarrhoea, nausea
        "vattkopp", "vannkopp", "skoldkop", "chickenpox", "halsfluss", "inflammation",
        "betennelse", "betændelse", "infektion", "infeksjon", "infection", "diarr", "illamå",
        "hovedpine", "omgangssyk", "omgangssyg", "migrän", "migrene", "مريض", "مرض",
        "سردرد", "دلدرد",  # fa: headache, stomach ache (مریض folds to مريض)
        "хвор",  # uk: хворий, хвора, хворіє, хвороба, захворів
    ),
)
# Words starting like a sick word without meaning sick: cycling in Norwegian.
_NOT_SICK_STARTS = _folded_tuple(("sykk", "sykl"))
_FAMILY = _Vocabulary(
    exact=(
        "family", "families",
        "ቀብሪ", "ሓዘን",  # ti: burial, mourning
        "تشییع", "فاتحه",  # fa: funeral
        "сім'я", "сім'ї", "сім'ю", "сім'єю",  # uk: family
    ),
    starts=(
        "begrav", "funeral",
        "qoys", "tacsi",  # so: family, condolence
        "ስድራ", "ቤተሰብ",  # ti: family
        "خانواد", "فامیل",  # fa: family (خانوادگی)
        "сімей", "родин", "похорон",  # uk: family (сімейні обставини), funeral
        "rodzin", "pogrzeb",  # pl: family (sprawy rodzinne), funeral
    ),
    parts=("famil", "عائل"),
)
_OTHER = _Vocabulary(
    exact=(
        "annat", "annan", "annet", "annen", "andet", "anden", "other", "others", "اخرى",
        "ካልእ", "ካልኦት",  # ti
        "kale",  # so: the app's "Sabab kale" (other reason); English kale is no reason
        # fa: not "دیگر", which is mostly "more" ("دو روز دیگر", in two days).
        "سایر",
        "інше", "інша", "інший", "інші", "іншого", "іншої", "інших",  # uk
        # pl: not "inne", which is "inside" in Swedish and Norwegian.
        "inny", "inna", "inną", "innego", "innej", "innych",
    ),
)
# Medical beats sick ("sjuk, till läkaren"); "other" only when nothing more specific is named.
_REASON_ORDER: tuple[tuple[str, _Vocabulary], ...] = (
    ("medical", _MEDICAL),
    ("sick", _SICK),
    ("family", _FAMILY),
    ("other", _OTHER),
)


# Feeling unwell said in several words: "mår inte bra", "isn't feeling well".
_SICK_PHRASES = tuple(
    " ".join(fold(word) for word in words(phrase)) for phrase in (
        "mår inte bra", "mår illa", "känner sig inte bra", "inte pigg",
        "føler seg ikke bra", "føler seg ikke frisk", "ikke i form", "ikke helt frisk",
        "har det ikke godt", "har det skidt", "føler sig ikke godt", "ikke rask",
        "not feeling well", "isn't feeling well", "isn’t feeling well", "doesn't feel well",
        "not very well", "not well",
        "under the weather", "feeling rough",
        "ليس بخير", "مش منيح", "مو زين",
        "حالش خوب نیست", "حال ندارد", "حالش بد", "ناخوش",
        "погано почувається", "погано себе почуває", "нездужає",
        "źle się czuje", "źle się czuję", "nie czuje się dobrze",
        "ma caafimaad qabo", "ኣይጥዕምን",
    )
)


def parse_reason(text: str) -> str | None:
    """The reason in `REASONS` that `text` names ("Ali är sjuk" → "sick"), or None.

    Medical words beat sick words ("sjuk, ska till läkaren" → "medical"), and "sjukhus",
    "sykehus", "sygehus" are medical only; sick beats family, and family beats "other".
    """
    folded = [fold(word) for word in words(text)]
    joined = f" {' '.join(folded)} "
    sick_phrase = any(f" {phrase} " in joined for phrase in _SICK_PHRASES)
    for reason, vocabulary in _REASON_ORDER:
        if vocabulary is _SICK and sick_phrase:
            return reason
        for word in folded:
            if vocabulary is _SICK and word.startswith(_NOT_SICK_STARTS):
                continue
            if vocabulary.matches(word):
                return reason
    return None


_YES = _folded(
    (
        "ja", "japp", "jepp", "jupp", "jo", "ok", "okay", "okej", "okei", "oki", "yes", "y", "yep",
        "yup", "yeah", "sure", "skicka", "send", "bekräfta", "bekreft", "bekræft", "confirm",
        "نعم", "اي", "ايوه", "أكيد",
        "haye", "hayye", "dir", "xaqiiji",  # so: ok, send, confirm ("haa" below)
        "እወ", "ሕራይ", "ስደድ", "ስደዱ",  # ti: yes, ok, send
        "بله", "آره", "باشه", "ارسال", "بفرست", "بفرستید", "تأیید",  # fa: yes, ok, send, confirm
        "так", "ок", "добре", "гаразд", "надіслати", "надішліть", "підтверджую",  # uk
        # pl: ok, send, confirm ("tak" below)
        "dobrze", "jasne", "wyślij", "potwierdzam", "potwierdź",
    )
)
# Somali doubles vowels, which fold() merges as in Danish "gaar": "haa" (yes) would fold to
# "ha", Swedish "have" ("ha det bra"). These are matched as typed.
_YES_AS_TYPED = frozenset({"haa"})
_NO = _folded(
    (
        "nej", "nei", "nä", "nope", "no", "n", "لا", "كلا",
        "ኣይፋል", "نه", "نخیر", "ні", "nie",  # ti, fa, uk, pl
    )
)
# Yes and no words that mean something else in another shipped language: Polish "tak" (yes)
# is Danish "thanks"; Persian "خیر" (no) is Arabic "good" ("خير إن شاء الله"). Read only from
# someone whose own language it is.
_YES_OWN = {"pl": _folded(("tak",))}
_NO_OWN = {"fa": _folded(("خیر",))}
# Somali "maya" (no) is also the name Maya ("Maya är också sjuk"): a no only on its own.
_NO_ALONE = _folded(("maya",))
_NEGATIONS = _folded(
    (
        "inte", "ej", "ikke", "ikkje", "not", "dont", "don", "nej", "nei", "no",
        "ኣይፋል", "نه", "نکن", "نکنید", "نفرست", "نفرستید", "не", "ні", "nie",
    )
)


def parse_yes_no(text: str, language: str | None = None) -> bool | None:
    """True for a yes ("ja", "ok", "skicka", "نعم", "haa", "እወ", "بله", "так", "tak"), False
    for a no ("nej", "nei", "no", "لا", "maya", "ኣይፋል", "نه", "ні", "nie").

    The first word decides ("ja tack" → True, "nej tack" → False); a yes with a negation
    ("skicka inte", "ok no") is unclear, and so is anything else, including numbers: None.
    `language` (the writer's own) adds the words that only mean yes or no in it.
    """
    said = words(text)
    folded = [fold(word) for word in said]
    if not folded:
        return None
    first = folded[0]
    own_no, own_yes = _NO_OWN.get(language or "", frozenset()), _YES_OWN.get(language or "",
                                                                               frozenset())
    if first in _NO or first in own_no or (len(folded) == 1 and first in _NO_ALONE):
        return False
    if first in _YES or first in own_yes or said[0] in _YES_AS_TYPED:
        return None if any(word in _NEGATIONS for word in folded[1:]) else True
    return None


_CANCEL = _folded(
    (
        "avbryt", "avbryta", "avslutt", "avlys", "annuller", "annullér", "afbryd", "cancel",
        "إلغاء", "الغاء",
        "jooji", "joojiya",  # so: the app's Cancel ("Jooji"), so not an SMS STOP word
        "ሰርዝ", "ሰርዙ", "ሰርዚ", "ኣቋርጽ", "ኣቋርጹ",  # ti
        "لغو", "کنسل", "انصراف",  # fa
        "скасувати", "скасуй", "скасуйте", "відмінити", "відмініть", "відміна",  # uk
        "anuluj", "anulować", "przerwij",  # pl
    )
)


def is_cancel(text: str) -> bool:
    """True when the whole message asks to cancel ("Avbryt!", "/cancel", "afbryd", "إلغاء",
    "jooji", "ሰርዝ", "لغو", "скасувати", "anuluj").

    "STOP" is not a cancel word: SMS carriers reserve it for opting out of all messages.
    """
    stripped = text.strip()
    if stripped.startswith("/"):
        # A chat command, possibly addressed to the bot in a group: "/cancel@narvarobot".
        stripped = stripped[1:].split("@", 1)[0]
    found = words(stripped)
    return len(found) == 1 and fold(found[0]) in _CANCEL


_UNDO = _folded(
    (
        "ångra", "ångar", "angra", "angre", "fortryd", "fortryde", "undo", "تراجع", "تراجعي",
        "cofnij", "cofnąć", "відмінити", "назад", "برگردان", "واگرد",
    )
)


def is_undo(text: str) -> bool:
    """True when the whole message asks to undo what was just recorded ("ÅNGRA", "angre",
    "fortryd", "undo", "تراجع", "cofnij") or to cancel ("avbryt", "cancel", "jooji", "ሰርዝ",
    "لغو", "скасувати", "anuluj"), which right after a receipt means the same."""
    found = words(text.strip().lstrip("/"))
    return len(found) == 1 and (fold(found[0]) in _UNDO or fold(found[0]) in _CANCEL)


def contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whether the words `needle` stand in `haystack` one after the other (none: False)."""
    size = len(needle)
    return size > 0 and any(
        list(haystack[start : start + size]) == list(needle)
        for start in range(len(haystack) - size + 1)
    )


def name_parts(name: str) -> list[str]:
    """The folded words of a roster name ("Anna-Karin Ek" → anna, karin, ek)."""
    return [fold(word) for word in words(name)]


def first_name_parts(name: str) -> list[str]:
    """The folded words of a roster name's first name: its first whitespace-separated part,
    so "Anna-Karin" stays whole (anna, karin)."""
    return [fold(word) for word in words(name.split()[0])] if name.split() else []


def _single(indexes: Iterable[int]) -> int | None:
    found = list(indexes)
    return found[0] if len(found) == 1 else None


def match_child(text: str, names: Sequence[str], *, by_name_only: bool = False) -> int | None:
    """The index into `names` of the child `text` refers to, or None when unclear.

    With `by_name_only`, a lone number or initial is not taken as a child (it
    answers some other question, such as a numbered menu).

    Accepted: a 1-based number alone ("2"), a full name, a first name ("ali", "Bjorn" for
    "Björn"), alone or inside a longer message ("Ali sjuk idag"), or an initial alone ("A",
    "A.") when only one child's first name starts with it. A full name settles two children
    sharing a first name; two different children named in one message give None.
    """
    said = [fold(word) for word in words(text)]
    if not said or not names:
        return None
    if len(said) == 1 and said[0].isdecimal():
        if by_name_only:
            return None
        number = int(said[0])
        return number - 1 if 1 <= number <= len(names) else None
    full = [name_parts(name) for name in names]
    first = [first_name_parts(name) for name in names]
    if len(said) == 1 and len(said[0]) == 1 and said[0].isalpha():
        if by_name_only:
            return None
        return _single(
            index for index, parts in enumerate(first)
            if parts and parts[0] and parts[0][0] == said[0]
        )
    by_full = {index for index, parts in enumerate(full) if contains_run(said, parts)}
    by_first = {index for index, parts in enumerate(first) if contains_run(said, parts)}
    # "Anna-Karin" names Anna-Karin, not also her sister Anna.
    by_first = {
        index
        for index in by_first
        if not any(
            len(first[other]) > len(first[index]) and contains_run(first[other], first[index])
            for other in by_first
        )
    }
    # A first name is accounted for by a full name that starts with it ("Ali Berg" when Ali
    # Hassan is a sibling); any other first name is a second child.
    others = {
        index for index in by_first - by_full if all(first[index] != first[f] for f in by_full)
    }
    if by_full:
        return _single(by_full) if not others else None
    return _single(by_first)
