"""Tests for the gettext catalogs in locales/ and the runtime loader."""

import gettext
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from locales import (
    LANGUAGES,
    LOCALE_DIR,
    gettext_for,
    ngettext_for,
    normalize_language,
)

ROOT = LOCALE_DIR.parent
# The same sources and keywords as `make i18n-extract`.
SOURCE_DIRS = ("bot", "handlers", "services", "scheduler", "locales")
KEYWORDS = {"N_": None, "t": None, "gettext_for": (2,), "ngettext_for": (2, 3)}


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _po(language: str) -> Catalog:
    return _read(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po")


def _messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _forms(message: Message) -> tuple[str, ...]:
    """A message's translation: its plural forms, or its one string."""
    if isinstance(message.string, (tuple, list)):
        return tuple(form or "" for form in message.string)
    return (message.string or "",)


def _ids(message: Message) -> tuple[str, ...]:
    """A message's source: singular and plural, or its one text."""
    if isinstance(message.id, (tuple, list)):
        return tuple(message.id)
    return (message.id,)


def _plural(translations: gettext.GNUTranslations) -> Callable[[int], int]:
    """The plural-form function a compiled catalog's header gives (an instance attribute
    that typeshed does not declare)."""
    function: Callable[[int], int] = vars(translations)["plural"]
    return function


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


TEMPLATE = _read(LOCALE_DIR / "messages.pot")


def test_shipped_languages_have_catalogs() -> None:
    """Each language in LANGUAGES has a .po and a .mo, and no other catalog is shipped."""
    for language in LANGUAGES:
        folder = LOCALE_DIR / language / "LC_MESSAGES"
        assert (folder / "messages.po").is_file(), language
        assert (folder / "messages.mo").is_file(), language
    shipped = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    assert shipped == set(LANGUAGES)


def test_template_is_current() -> None:
    """Extracting the sources now gives exactly the msgids of messages.pot."""
    extracted = {
        message
        for folder in SOURCE_DIRS
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        )
    }
    assert extracted, "nothing was extracted: are the keywords right?"
    assert extracted == {message.id for message in _messages(TEMPLATE)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    """Every template msgid is translated, not fuzzy, with every plural form filled."""
    catalog = _po(language)
    assert catalog.locale is not None and str(catalog.locale) == language
    messages = {message.id: message for message in _messages(catalog)}
    assert set(messages) == {message.id for message in _messages(TEMPLATE)}
    for message in messages.values():
        assert not message.fuzzy, message.id
        forms = _forms(message)
        if message.pluralizable:
            assert len(forms) == catalog.num_plurals, message.id
        assert all(forms), message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_source(language: str) -> None:
    """Translations use exactly the source's `{placeholders}` (plural forms may drop {n})."""
    for message in _messages(_po(language)):
        if message.pluralizable:
            singular, plural = _ids(message)
            source = _fields(singular) | _fields(plural)
            for form in _forms(message):
                assert source - {"n"} <= _fields(form) <= source, (message.id, form)
        else:
            [text] = _forms(message)
            [source_text] = _ids(message)
            assert _fields(text) == _fields(source_text), message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_po(language: str) -> None:
    """The .mo gives the same text as the .po for every message and plural form."""
    catalog = _po(language)
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in _messages(catalog):
        if not message.pluralizable:
            [source_text] = _ids(message)
            assert compiled.gettext(source_text) == message.string, message.id
            continue
        singular, plural = _ids(message)
        for index, form in enumerate(_forms(message)):
            n = next(n for n in range(1000) if _plural(compiled)(n) == index)
            assert compiled.ngettext(singular, plural, n) == form, (message.id, index)


@pytest.mark.parametrize(
    ("language", "help_text", "three_tasks"),
    [
        ("sv", "Hjälp", "Du har 3 öppna uppgifter."),
        ("nb", "Hjelp", "Du har 3 åpne oppgaver."),
        ("da", "Hjælp", "Du har 3 åbne opgaver."),
        ("en", "Help", "You have 3 open tasks."),
    ],
)
def test_runtime_loader_picks_catalog(language: str, help_text: str, three_tasks: str) -> None:
    """gettext_for and ngettext_for read the catalog of the requested language."""
    assert gettext_for(language, "Help") == help_text
    tasks = ngettext_for(language, "You have {n} open task.", "You have {n} open tasks.", 3)
    assert tasks == three_tasks


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_is_loaded_from_its_own_catalog(language: str) -> None:
    """Whatever the language, the loader gives that catalog's text (plural forms included)."""
    catalog = _po(language)
    help_entry = catalog.get("Help")
    assert help_entry is not None
    assert gettext_for(language, "Help") == help_entry.string
    assert language == "en" or help_entry.string != "Help"
    tasks = catalog.get("You have {n} open task.")
    assert tasks is not None
    n = 3
    compiled = gettext.translation("messages", LOCALE_DIR, languages=[language])
    assert isinstance(compiled, gettext.GNUTranslations)
    form = _plural(compiled)(n)
    expected = _forms(tasks)[form].format(n=n)
    got = ngettext_for(language, "You have {n} open task.", "You have {n} open tasks.", n)
    assert got.replace("\u2068", "").replace("\u2069", "") == expected


def test_placeholders_are_filled() -> None:
    """Keyword values are formatted into the translated text."""
    assert gettext_for("sv", "Hi {name}! This is Närvaro.", name="Ada") == (
        "Hej Ada! Det här är Närvaro."
    )
    assert ngettext_for("ar", "You have {n} open task.", "You have {n} open tasks.", 2) == (
        "لديك مهمتان مفتوحتان."
    )


def test_unknown_language_falls_back_to_english() -> None:
    """A language without a catalog gets the English text."""
    assert gettext_for("fi", "Help") == "Help"
    assert gettext_for("", "Hi {name}! This is Närvaro.", name="Ada") == "Hi Ada! This is Närvaro."
    assert ngettext_for("fi", "You have {n} open task.", "You have {n} open tasks.", 1) == (
        "You have 1 open task."
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("sv-SE", "sv"),
        ("sv_SE", "sv"),
        ("SV", "sv"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("da-DK", "da"),
        ("ar-SA", "ar"),
        ("fi", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_normalize_language(code: str | None, expected: str) -> None:
    """Language codes map to the closest shipped language, else English."""
    assert normalize_language(code) == expected
