"""Tests for policy.freetext: reasons, yes/no, cancel and child names in guardians' replies."""

import pytest

from policy.freetext import REASONS, is_cancel, match_child, parse_reason, parse_yes_no, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej! Ali: sjuk idag, 38.5 😷", ["hej", "ali", "sjuk", "idag", "38", "5"]),
        ("Björn-Åke SJUK", ["björn", "åke", "sjuk"]),
        ("/cancel", ["cancel"]),
        ("مريض اليوم.", ["مريض", "اليوم"]),
        ("Bjo\u0308rn", ["björn"]),  # decomposed ö from some phones stays one word
        ("...", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


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
        # none
        ("hej", None),
        ("Ali", None),
        ("till skolan", None),  # "ill" only as a whole word
        ("sykkeltur", None),  # cycling, not sick
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
        ("1", None),
        ("2", None),
        ("skicka inte", None),
        ("hmm", None),
        ("", None),
    ],
)
def test_parse_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


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
    ],
)
def test_match_child(text: str, names: tuple[str, ...], expected: int | None) -> None:
    assert match_child(text, names) == expected
