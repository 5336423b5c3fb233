"""Names written in another script than the roster's: Arabic and Persian letters for a Latin
roster name are matched by their consonants, and only when one child fits."""

from __future__ import annotations

from datetime import date

import pytest

from policy.reading import named_children, read

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("لينا مريضة", ["Omar Haddad", "Lina Haddad"], (1,)),
    ("عمر مريض اليوم", ["Omar Haddad", "Lina Haddad"], (0,)),
    ("رضا امروز نمی‌آید، تب دارد", ["Reza Ahmadi", "Nazanin Ahmadi"], (0,)),
    ("نازنین تب دارد", ["Reza Ahmadi", "Nazanin Ahmadi"], (1,)),
    ("كريم مريض", ["Karim Saleh"], (0,)),
    ("آرش امروز مریض است", ["Arash Karimi"], (0,)),
])
def test_an_arabic_script_name_names_the_latin_roster_child(
    text: str, names: list[str], expected: tuple[int, ...]
) -> None:
    assert named_children(text, names) == expected


@pytest.mark.parametrize(("text", "names"), [
    # Words of the message, not names: "sick" (m-r-d) is not Murad, "today" not Lima.
    ("مريض اليوم", ["Murad Ali", "Lima Ali"]),
    # Two children with the same consonants: neither is named.
    ("سارا مريضة", ["Sara Ali", "Sura Ali"]),
    # One consonant is too little to tell a name: "لا" (no) is not Ali or Lea.
    ("لا", ["Lea Ali"]),
])
def test_words_and_ambiguous_spellings_name_no_child(text: str, names: list[str]) -> None:
    assert named_children(text, names) == ()


def test_a_sibling_said_to_be_well_is_asked_about_not_recorded() -> None:
    reading = read("Adam is sick, Lucy is fine", ["Adam Smith", "Lucy Smith"], "en", TODAY,
                   start=TODAY)
    assert reading.children == () and reading.children_unclear
    assert reading.reason == "sick"


@pytest.mark.parametrize("text", [
    "Elias mår inte bra idag", "Sander føler seg ikke bra", "Mads har det ikke godt i dag",
    "Ben isn't feeling well", "Tomek źle się czuje", "آرش امروز حالش خوب نیست",
])
def test_feeling_unwell_in_several_words_is_sick(text: str) -> None:
    assert read(text, ["Elias", "Sander", "Mads", "Ben", "Tomek", "Arash"], "sv", TODAY,
                start=TODAY).reason == "sick"


def test_a_lone_clock_time_asks_for_the_times_and_keeps_the_day() -> None:
    reading = read("Elias går hem kl 13 idag, tandläkare", ["Elias"], "sv", TODAY,
                   start=TODAY)
    assert reading.part_unclear and reading.span is not None
    assert reading.span.first == TODAY and reading.span.part_start is None


#: A school of 1,200 students besides the writer's child: the reader compares a message
#: with the names that start with one of its words, so a large school costs no more.
SCHOOL = [f"Elev{n} Efternamn{n}" for n in range(1_200)] + [
    "Elsa Berg", "Dag Olsen", "Omar Lind", "Saga Holm", "Maja Svensson"]


@pytest.mark.parametrize(("text", "writer", "other"), [
    ("Elsa Berg är sjuk idag", "Amal Holm", True),  # another student's full name
    ("elsa berg är sjuk idag", "Amal Holm", True),  # a full name counts without capitals
    ("Elsa är sjuk idag", "Amal Holm", True),  # a first name written with a capital
    ("elsa är sjuk idag", "Amal Holm", False),  # ... but not in lower case
    ("Saga sjuk idag", "Amal Holm", False),  # the writer's own child
    ("Saga Holm sjuk idag", "Amal Holm", False),
    ("Sjuk idag. Mvh Omar", "Omar Holm", False),  # the writer's signature, not Omar Lind
    ("Sjuk idag. Mvh Omar", "Amal Holm", True),  # another writer: Omar Lind is named
    ("Dag 2 av förkylningen, sjuk", "Amal Holm", False),  # a word before a name
    ("Elev1199 Efternamn1199 sjuk", "Amal Holm", True),  # the last of a large school
    ("Elev1199 Efternamn1198 sjuk", "Amal Holm", True),  # its first name alone suffices
    ("elev1199 efternamn1198 sjuk", "Amal Holm", False),  # no full name, no capital
])
def test_a_message_naming_another_student_at_the_school_is_told_apart(
    text: str, writer: str, other: bool
) -> None:
    reading = read(text, ["Saga Holm"], "sv", TODAY, start=TODAY,
                   others=[*SCHOOL, "Saga Holm"], writer=writer)
    assert reading.other_child is other
