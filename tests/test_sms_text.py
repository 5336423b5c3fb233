"""Tests for policy.sms: GSM-7, segments, typography, shortening and SMS keywords."""

import random

import pytest

from policy.sms import (
    ELLIPSIS,
    GSM7_BASIC,
    GSM7_EXTENDED,
    HELP,
    START,
    STOP,
    fit,
    is_gsm7,
    keyword,
    segments,
    to_sms,
)


def test_gsm7_tables_are_the_gsm_03_38_alphabet() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points, one of them the escape
    assert sorted(GSM7_EXTENDED) == sorted("\f^{}\\[~]|€")
    assert not GSM7_BASIC & GSM7_EXTENDED
    assert set("ÅÄÖÆØåäöæøéÉüÜñÑàÇ") <= GSM7_BASIC
    assert not set("çáíóúêôõ`") & GSM7_BASIC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej! Ali är sjuk idag, han har feber. Mvh Åsa", True),
        ("Noor er forkjølet i dag. Hilsen Bjørn", True),
        ("Ida er syg, hun har ondt i halsen. Hilsen Søren Æbelø", True),
        ("Svara 1 för sjuk, 2 för läkare (tandläkare)", True),
        ("Pris: 50€ [a] {b} ~c | d ^ \\", True),
        ("", True),
        ("Ali är “sjuk”", False),
        ("Ali är ’sjuk’", False),
        ("Ali är sjuk 🤒", False),
        ("ابني مريض اليوم", False),
        ("Hej – Ali", False),
        ("Hej…", False),
        ("ça va", False),  # only the capital Ç is in the alphabet
        ("tab\there", False),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("å" * 160, 1),  # Nordic letters are GSM-7
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),  # extension characters count two septets
        ("€" * 81, 2),
        ("a" * 159 + "[", 2),
        ("a" * 158 + "[", 1),
        ("a" * 304 + "{", 2),
        ("a" * 305 + "{", 3),
        # An escaped character is not split over two segments.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("ش" * 70, 1),
        ("ش" * 71, 2),
        ("ö" * 69 + "“", 1),  # one curly quote makes all of it UCS-2
        ("ö" * 70 + "“", 2),
        ("ش" * 134, 2),
        ("ش" * 135, 3),
        ("😷" * 35, 1),  # an emoji is two UTF-16 code units
        ("😷" * 36, 2),
        # A surrogate pair is not split over two segments either.
        ("ش" * 66 + "😷" + "ش" * 66, 3),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej – “sjuk” …", 'Hej - "sjuk" ...'),
        ("„Hei“ — sa hun", '"Hei" - sa hun'),
        ("«Hej» ‹du›", "\"Hej\" 'du'"),
        ("Ali’s ‘cold’ ‚x‘", "Ali's 'cold' 'x'"),
        ("• Sjuk\n· Läkare", "- Sjuk\n- Läkare"),
        ("12\u00a0345 kr, 10:05\u202fAM", "12 345 kr, 10:05 AM"),
        ("a\tb", "a b"),
        ("Sj\u200buk\ufeff", "Sjuk"),
        ("\u200fSjuk\u200e\u2068Ali\u2069", "SjukAli"),
        ("Bjo\u0308rn", "Björn"),  # decomposed ö would be UCS-2
        ("Plain text stays.", "Plain text stays."),
        # Other scripts need UCS-2: letters, emoji and bidi marks that order them stay.
        ("ابني مريض اليوم", "ابني مريض اليوم"),
        ("مريض 23\u200f/11\u200f/2026", "مريض 23\u200f/11\u200f/2026"),
        ("مريض – “اليوم”", 'مريض - "اليوم"'),
        ("Sjuk 🤒 – idag", "Sjuk 🤒 - idag"),
    ],
)
def test_to_sms(text: str, expected: str) -> None:
    assert to_sms(text) == expected
    assert to_sms(expected) == expected


def test_to_sms_makes_typography_gsm7() -> None:
    assert not is_gsm7("Hej – “sjuk” …")
    assert is_gsm7(to_sms("Hej – “sjuk” …"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Ali är sjuk idag.",
        "a" * 459,
        "ش" * 201,
        "Line one\nLine two\n" * 10,
    ],
)
def test_fit_leaves_text_that_fits_unchanged(text: str) -> None:
    assert fit(text) == text


def test_fit_replaces_typography_even_when_it_fits() -> None:
    assert fit("Hej – “sjuk” …") == 'Hej - "sjuk" ...'


def test_fit_shortens_at_a_word() -> None:
    text = "ord " * 200
    shortened = fit(text, 1)
    assert shortened == "ord " * 38 + "ord" + ELLIPSIS
    assert segments(shortened) == 1


def test_fit_cuts_a_word_longer_than_the_budget() -> None:
    assert fit("x" * 1000, 1) == "x" * 157 + ELLIPSIS
    assert fit("  " + "x" * 1000, 1) == "  " + "x" * 155 + ELLIPSIS
    assert fit("ش" * 1000, 1) == "ش" * 67 + ELLIPSIS


def test_fit_keeps_whole_lines() -> None:
    first = "Ali är sjuk idag och stannar hemma. Han har feber och ont i halsen sedan i natt."
    second = "Vi hör av oss i morgon om hur det går, och om han kan komma tillbaka på onsdag."
    assert fit(f"{first}\n{second}\nMvh Åsa", 1) == first + ELLIPSIS
    # A line far shorter than what the last word keeps is not worth the loss.
    shortened = fit(f"Hej!\n{first} {second}", 1)
    assert shortened.startswith(f"Hej!\n{first} Vi hör")
    assert len(shortened) > 150


def test_fit_may_drop_the_one_character_that_needs_ucs2() -> None:
    text = "a " * 60 + "🤒 " + "b " * 200
    shortened = fit(text, 1)
    assert shortened == ("a " * 60).rstrip() + ELLIPSIS
    assert is_gsm7(shortened)


def test_fit_rejects_a_budget_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fit("text", 0)


_VOCABULARY = [
    "Ali", "är", "sjuk", "idag", "Hej!", "Mvh", "Åsa", "forkjølet", "Hilsen", "Søren",
    "tandläkaren", "kl", "10-12", "24/11", "“sjuk”", "–", "…", "€", "[x]", "🤒", "😷",
    "مريض", "اليوم", "Björn-Åke", "a", "supercalifragilisticexpialidocious" * 3,
    "\n", "\n\n", "x" * 200,
]


def _sentences(count: int) -> list[str]:
    rng = random.Random(20261123)
    return [
        rng.choice(["", " ", "\n"]).join(
            rng.choice(_VOCABULARY) for _ in range(rng.randint(0, 150))
        )
        if index % 7 == 0
        else " ".join(rng.choice(_VOCABULARY) for _ in range(rng.randint(0, 150)))
        for index in range(count)
    ]


@pytest.mark.parametrize("max_segments", [1, 2, 3, 5])
def test_fit_properties_over_generated_sentences(max_segments: int) -> None:
    for text in _sentences(300):
        sent = to_sms(text)
        shortened = fit(text, max_segments)
        assert segments(shortened) <= max_segments
        if segments(sent) <= max_segments:
            assert shortened == sent
            continue
        assert shortened.endswith(ELLIPSIS)
        kept = shortened.removesuffix(ELLIPSIS)
        assert sent.startswith(kept)
        assert kept == kept.rstrip()
        first_word = sent.split()[0] if sent.split() else ""
        if len(kept) > len(sent) - len(sent.lstrip()) + len(first_word):
            # More than the first word was kept: the cut is at whitespace, not in a word.
            assert sent[len(kept)].isspace(), (text, kept)


_KEYWORDS = {
    STOP: [
        "STOP", "STOPP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "AVSLUTA", "AVREGISTRERA",
        "SLUTA", "SLUTT", "AVMELD", "AFMELD", "AFSLUT", "STOPPE", "إيقاف", "توقف",
        "СТОП", "Відписатися", "WYPISZ",
    ],
    START: [
        "START", "STARTA", "BÖRJA", "UNSTOP", "BEGIN", "STARTE", "ابدأ",
        "BILOW", "ጀምር", "شروع", "СТАРТ",
    ],
    HELP: [
        "HELP", "INFO", "HJÄLP", "HJALP", "HJELP", "HJÆLP", "مساعدة",
        "CAAWIN", "Caawimo", "ሓገዝ", "راهنما", "کمک", "ДОПОМОГА", "POMOC",
    ],
}


@pytest.mark.parametrize(
    ("word", "expected"),
    [(word, expected) for expected, words in _KEYWORDS.items() for word in words],
)
def test_keyword(word: str, expected: str) -> None:
    for written in (
        word, word.lower(), word.capitalize(), word.swapcase(), f"{word}!", f" {word.lower()}. ",
        f"{word.capitalize()}!!", f"\n{word}\n", f"{word} !", f"\u200f{word}\u200f؟",
    ):
        assert keyword(written) == expected, written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Borja", START),  # missing diacritics, as elsewhere in guardians' texts
        ("hjælp?", HELP),
        ("ابدا", START),  # without hamza
        ("ＳＴＯＰ", STOP),  # full-width letters from some keyboards
        ("stop it please", None),
        ("please stop", None),
        ("cancel", None),
        ("CANCEL!", None),
        ("avbryt", None),
        ("Avslutt", None),  # ends a dialog in Norwegian; not an opt-out
        ("avlys", None),
        ("annuller", None),
        ("sjuk", None),
        ("stop stop", None),
        ("", None),
        ("   ", None),
        ("!!!", None),
        ("stop 🙏", None),
        ("1", None),
        ("كمك", HELP),  # Persian "کمک" typed with Arabic letters
        ("стоп!", STOP),
        # The app's Cancel and yes/no answers in the new languages end or answer a dialog:
        # they are no keywords.
        ("Jooji", None),
        ("ሰርዝ", None),
        ("ኣቋርጽ", None),
        ("لغو", None),
        ("Скасувати", None),
        ("Anuluj", None),
        ("haa", None),
        ("maya", None),
        ("እወ", None),
        ("نه", None),
        ("так", None),
        ("tak", None),
        ("nie", None),
        ("pomoc proszę", None),
    ],
)
def test_keyword_other_texts(text: str, expected: str | None) -> None:
    assert keyword(text) == expected


def test_roll_call_marks_stay_gsm7() -> None:
    """The roll call's ✗ and ⏱ marks become letters by SMS, so a class list stays GSM-7."""
    assert to_sms("1 for ✗ Ali Hassan, 2 for ⏱ Sara Hassan") == (
        "1 for X Ali Hassan, 2 for (L) Sara Hassan")
    assert is_gsm7(to_sms("✗ Åsa ⏱ Øyvind"))


def test_right_to_left_isolates_become_marks_every_handset_knows() -> None:
    """An Arabic or Persian text isolates names and numbers (FSI … PDI); by SMS they become
    a right-to-left mark after the value, which older phones show correctly too."""
    from locales import gettext_for

    text = gettext_for("fa", "Questions? Call {school} on {phone}.", school="Norrskolan",
                       phone="+46701234567")
    assert "\u2068" in text and "\u2069" in text
    sms = to_sms(text)
    assert "\u2068" not in sms and "\u2069" not in sms
    assert "\u200fNorrskolan\u200f" in sms and "\u200f+46701234567\u200f" in sms
    notice = to_sms(gettext_for("ar", "{child} is not at school today, and we have no report "
                                      "of absence.", child="Omar"))
    assert notice.startswith("\u200fOmar\u200f")  # the first strong direction is RTL
    assert to_sms("\u2068Ali\u2069 sick") == "Ali sick"  # GSM-7 text: no marks at all
