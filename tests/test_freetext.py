"""Tests for policy.freetext: reasons, yes/no, cancel and child names in guardians' replies."""

import pytest

from policy.freetext import (
    REASONS,
    fold,
    is_cancel,
    match_child,
    parse_reason,
    parse_yes_no,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej! Ali: sjuk idag, 38.5 😷", ["hej", "ali", "sjuk", "idag", "38", "5"]),
        ("Björn-Åke SJUK", ["björn", "åke", "sjuk"]),
        ("/cancel", ["cancel"]),
        ("مريض اليوم.", ["مريض", "اليوم"]),
        ("Bjo\u0308rn", ["björn"]),  # decomposed ö from some phones stays one word
        ("...", []),
        # The zero-width non-joiner inside a Persian word does not split it.
        ("سه\u200cشنبه مریض", ["سه\u200cشنبه", "مریض"]),
        ("\u200cفردا\u200c", ["فردا"]),
        # Nor does an apostrophe inside a Ukrainian word, but it still splits English ones.
        ("сім'я, п’ятниця", ["сім'я", "п’ятниця"]),
        ("don't", ["don", "t"]),
        ("ሰላም፣ ሳሮን ሓሚማ።", ["ሰላም", "ሳሮን", "ሓሚማ"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("دیروز", "ديروز"),  # Persian and Arabic yeh
        ("یکشنبه", "يكشنبه"),  # and keheh and kaf
        ("ی", "ى"),
        ("خانوادۀ", "خانواده"),
        ("پس\u200cفردا", "پسفردا"),
        ("آره", "اره"),
        ("تأیید", "تایید"),
        ("poniedziałek", "poniedzialek"),
        ("dziś", "dzis"),
        ("п'ятниця", "пʼятниця"),
        ("п’ятниця", "пятниця"),
        ("ґанок", "ганок"),
        ("ЇЖАК", "іжак"),
    ],
)
def test_fold_new_scripts(typed: str, same_as: str) -> None:
    assert fold(typed) == fold(same_as)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("läkare", "lakare"), ("gaar", "gar"), ("forkjølet", "forkjolet"), ("أمس", "امس"),
     ("مريضة", "مريضه"), ("الأحد", "الاحد")],
)
def test_fold_keeps_what_it_did(word: str, expected: str) -> None:
    assert fold(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # sick
        ("Ali är sjuk", "sick"),
        ("sjukt", "sick"),
        ("hon är sjuka", "sick"),
        ("förkyld", "sick"),
        ("forkyld", "sick"),
        ("har feber", "sick"),
        ("magsjuk", "sick"),
        ("kräks", "sick"),
        ("ont i magen", "sick"),
        ("Sara er syk", "sick"),
        ("syg", "sick"),
        ("forkjølet", "sick"),
        ("forkølet", "sick"),
        ("He is SICK", "sick"),
        ("ill", "sick"),
        ("fever", "sick"),
        ("flu", "sick"),
        ("a cold", "sick"),
        ("unwell", "sick"),
        ("vomiting", "sick"),
        ("مريض", "sick"),
        ("مريضة", "sick"),
        # medical, which beats sick
        ("läkare", "medical"),
        ("lakare", "medical"),
        ("läkartid", "medical"),
        ("tandläkaren", "medical"),
        ("doktor", "medical"),
        ("vårdcentral", "medical"),
        ("sjukhus", "medical"),
        ("Ali ska till sjukhuset", "medical"),
        ("sykehus", "medical"),
        ("sygehus", "medical"),
        ("BVC", "medical"),
        ("tannlege", "medical"),
        ("skal til legen", "medical"),
        ("legetime", "medical"),
        ("tandlæge", "medical"),
        ("læge", "medical"),
        ("lægetid", "medical"),
        ("hospital", "medical"),
        ("doctor", "medical"),
        ("dentist", "medical"),
        ("appointment", "medical"),
        ("orthodontist", "medical"),
        ("tandreglering", "medical"),
        ("طبيب", "medical"),
        ("موعد", "medical"),
        ("sjuk, ska till läkaren", "medical"),
        ("syk, skal til tannlegen", "medical"),
        ("sick, seeing the doctor", "medical"),
        # family
        ("familj", "family"),
        ("familjeskäl", "family"),
        ("familjeangelägenhet", "family"),
        ("begravning", "family"),
        ("familie", "family"),
        ("familiegrunner", "family"),
        ("begravelse", "family"),
        ("family reasons", "family"),
        ("funeral", "family"),
        ("عائلة", "family"),
        ("ظروف عائلية", "family"),
        # other
        ("annat", "other"),
        ("annan anledning", "other"),
        ("annet", "other"),
        ("andet", "other"),
        ("other", "other"),
        ("أخرى", "other"),
        # Somali, and the app's own button texts
        ("Ali waa jiran maanta", "sick"),
        ("Jiran", "sick"),
        ("wuu bukaa", "sick"),
        ("way bukto", "sick"),
        ("qandho", "sick"),
        ("madax xanuun", "sick"),
        ("Ballan dhakhtar ama ilko", "medical"),
        ("dhakhtarka", "medical"),
        ("isbitaalka", "medical"),
        ("jiran, dhakhtarka ayuu aadayaa", "medical"),
        ("Sabab qoys", "family"),
        ("Sabab kale", "other"),
        # Tigrinya
        ("ሳሮን ሓሚማ", "sick"),
        ("ሓሚሙ", "sick"),
        ("ሕማም", "sick"),
        ("ረስኒ", "sick"),
        ("ቆጸራ ሓኪም ወይ ሓኪም ስኒ", "medical"),
        ("ሆስፒታል", "medical"),
        ("ምኽንያት ስድራ", "family"),
        ("ቀብሪ", "family"),
        ("ካልእ ምኽንያት", "other"),
        # Persian (Farsi and Dari)
        ("مریض", "sick"),
        ("مريض", "sick"),
        ("علی بیمار است", "sick"),
        ("بیماره", "sick"),
        ("تب داره", "sick"),
        ("سرماخوردگی", "sick"),
        ("سردرد", "sick"),
        ("نوبت دکتر یا دندان\u200cپزشک", "medical"),
        ("دندانپزشک", "medical"),
        ("بیمارستان", "medical"),  # a hospital, though it starts like "بیمار" (sick)
        ("داکتر", "medical"),
        ("شفاخانه", "medical"),
        ("دلیل خانوادگی", "family"),
        ("خانواده", "family"),
        ("سایر", "other"),
        # Ukrainian
        ("Хвороба", "sick"),
        ("Зоряна хвора", "sick"),
        ("хворий", "sick"),
        ("захворів", "sick"),
        ("температура", "sick"),
        ("застудився", "sick"),
        ("Лікар або стоматолог", "medical"),
        ("до лікаря", "medical"),
        ("лікарня", "medical"),
        ("хворий, іде до лікаря", "medical"),
        ("Сімейні обставини", "family"),
        ("сім'я", "family"),
        ("похорон", "family"),
        ("Інша причина", "other"),
        # Polish
        ("Choroba", "sick"),
        ("Zosia jest chora", "sick"),
        ("dziecko jest chore", "sick"),
        ("przeziębiony", "sick"),
        ("goraczka", "sick"),
        ("grypa", "sick"),
        ("Wizyta u lekarza lub dentysty", "medical"),
        ("szpital", "medical"),
        ("dentysta", "medical"),
        ("chory, idzie do lekarza", "medical"),
        ("Sprawy rodzinne", "family"),
        ("pogrzeb", "family"),
        ("Inny powód", "other"),
        # none
        ("hej", None),
        ("Ali", None),
        ("till skolan", None),  # "ill" only as a whole word
        ("sykkeltur", None),  # cycling, not sick
        ("Ali är inne", None),  # Swedish "inside", not Polish "inne" (other)
        ("bukta", None),  # the bay, not Somali "buktaa"
        ("دو روز دیگر", None),  # "in two days": "دیگر" is mostly "more", not "other"
        ("1", None),
        ("", None),
    ],
)
def test_parse_reason(text: str, expected: str | None) -> None:
    assert parse_reason(text) == expected
    assert expected is None or expected in REASONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", True),
        ("Ja!", True),
        ("japp", True),
        ("jo", True),
        ("ok", True),
        ("OK 👍", True),
        ("okej", True),
        ("okay", True),
        ("yes", True),
        ("Y", True),
        ("yep", True),
        ("sure", True),
        ("skicka", True),
        ("send", True),
        ("bekräfta", True),
        ("bekrafta", True),
        ("bekreft", True),
        ("bekræft", True),
        ("نعم", True),
        ("ja tack", True),
        ("nej", False),
        ("Nei.", False),
        ("nope", False),
        ("No", False),
        ("n", False),
        ("لا", False),
        ("nej tack", False),
        # Somali
        ("haa", True),
        ("Haa, dir", True),
        ("haye", True),
        ("dir", True),
        ("maya", False),
        ("Maya!", False),
        ("Maya är också sjuk", None),  # the name Maya: "maya" is a no only on its own
        ("ha det bra", None),  # "haa" folds to "ha", so it is compared as typed
        # Tigrinya
        ("እወ", True),
        ("ሕራይ", True),
        ("ስደዱ", True),
        ("ኣይፋል", False),
        ("ኣይፋል፣ ይጽናሕ", False),
        # Persian
        ("بله", True),
        ("آره", True),
        ("باشه", True),
        ("ارسال", True),
        ("نه", False),
        ("نه، بماند", False),
        ("بله نفرست", None),
        # Ukrainian
        ("так", True),
        ("Так, надіслати", True),
        ("Надіслати", True),
        ("ні", False),
        ("Ні, залишити", False),
        ("так, не надсилати", None),
        # Polish
        ("Wyślij", True),
        ("wyslij", True),
        ("nie", False),
        ("Nie, zostaw", False),
        ("tak, nie wysyłaj", None),
        ("1", None),
        ("2", None),
        ("skicka inte", None),
        ("hmm", None),
        ("", None),
    ],
)
def test_parse_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


def test_words_that_mean_yes_or_no_only_in_the_writers_own_language() -> None:
    """Polish "tak" is Danish "thanks"; Persian "خیر" is Arabic "good"."""
    assert parse_yes_no("tak", "pl") is True and parse_yes_no("Tak!", "pl") is True
    assert parse_yes_no("Tak", "da") is None and parse_yes_no("tak") is None
    assert parse_yes_no("خیر", "fa") is False
    assert parse_yes_no("خير إن شاء الله", "ar") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("avbryt", True),
        ("Avbryt!", True),
        ("avbryta", True),
        ("avslutt", True),
        ("avlys", True),
        ("annuller", True),
        ("annullér", True),
        ("afbryd", True),
        ("CANCEL", True),
        ("/cancel", True),
        ("/cancel@narvarobot", True),
        ("إلغاء", True),
        ("Jooji", True),  # so: the app's Cancel button
        ("jooji!", True),
        ("ሰርዙ", True),
        ("ሰርዝ", True),
        ("لغو", True),
        ("انصراف", True),
        ("Скасувати", True),
        ("скасуй", True),
        ("Anuluj", True),
        ("/anuluj", True),
        ("przerwij", True),
        ("لغو کن لطفا", False),
        ("anuluj jutro", False),
        ("стоп", False),  # SMS opt-out keywords
        ("STOP", False),  # the SMS opt-out keyword, handled elsewhere
        ("stop", False),
        ("avbryt inte", False),
        ("nej", False),
        ("", False),
    ],
)
def test_is_cancel(text: str, expected: bool) -> None:
    assert is_cancel(text) is expected


SIBLINGS = ("Ali Hassan", "Sara Hassan", "Björn Berg")
SAME_FIRST_NAME = ("Ali Hassan", "Ali Berg", "Amir Karimi")


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("1", SIBLINGS, 0),
        ("2", SIBLINGS, 1),
        (" 3. ", SIBLINGS, 2),
        ("4", SIBLINGS, None),
        ("0", SIBLINGS, None),
        ("Ali", SIBLINGS, 0),
        ("ali hassan", SIBLINGS, 0),
        ("SARA", SIBLINGS, 1),
        ("bjorn", SIBLINGS, 2),
        ("Björn", SIBLINGS, 2),
        ("A", SIBLINGS, 0),
        ("s.", SIBLINGS, 1),
        ("Ali sjuk idag", SIBLINGS, 0),
        ("Sara er syk i morgen", SIBLINGS, 1),
        ("Ali och Sara", SIBLINGS, None),  # two children
        ("Ali Hassan och Sara", SIBLINGS, None),
        ("Hassan", SIBLINGS, None),  # surnames are shared
        ("Noor", SIBLINGS, None),
        ("", SIBLINGS, None),
        ("Ali", SAME_FIRST_NAME, None),  # two Alis
        ("Ali Berg", SAME_FIRST_NAME, 1),
        ("ali berg sjuk", SAME_FIRST_NAME, 1),
        ("A", SAME_FIRST_NAME, None),  # an initial shared by three
        ("Amir", SAME_FIRST_NAME, 2),
        ("Anna-Karin sjuk", ("Anna-Karin Ek", "Anna Ek"), 0),
        ("Anna sjuk", ("Anna-Karin Ek", "Anna Ek"), 1),
        ("Ali", (), None),
        ("Зоряна хвора сьогодні", ("Зоряна Коваль", "Ali"), 0),
        ("فاطمه\u200cزهرا مریض است", ("Ali", "فاطمه\u200cزهرا احمدی"), 1),
        ("فاطمهزهرا مریض است", ("Ali", "فاطمه\u200cزهرا احمدی"), 1),
        ("ሳሮን ሓሚማ", ("Ali", "ሳሮን ተስፋይ"), 1),
        ("Zosia chora", ("Zośka Nowak", "Zosia Nowak"), 1),
    ],
)
def test_match_child(text: str, names: tuple[str, ...], expected: int | None) -> None:
    assert match_child(text, names) == expected


def test_a_lone_number_is_a_child_only_where_numbers_name_children() -> None:
    """"2" is the second child; where a number answers some other question (by name only),
    it names no child."""
    names = ["Ali Hassan", "Sara Hassan"]
    assert match_child("2", names) == 1
    assert match_child("2", names, by_name_only=True) is None
    assert match_child("Sara", names, by_name_only=True) == 1
