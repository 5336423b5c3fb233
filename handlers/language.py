"""Anyone may change the language Närvaro writes to them in, at any time.

"/language", the menu, or by SMS the word for "language" in any shipped
language ("SPRÅK", "SPROG", "LANGUAGE", "لغة", …) lists the languages, each
in its own name; a tap, a number (SMS) or the language's name picks one.
"""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from sqlmodel import Session

from handlers.messages import Choice, Reply
from locales import LANGUAGES, gettext_for
from policy.freetext import fold
from storage.conversations import clear_state, get_state, set_state
from storage.models import AuditLog, Person

COMMAND = "/language"
MENU_KEY = "menu:language"  # the menu's button (handlers.menu.LANGUAGE)
PICK_KEY = "lang:"
DIALOG = "language"
#: The word for "language" in each shipped language (what an SMS user would write).
WORDS = frozenset(fold(word) for word in (
    "language", "språk", "sprog", "لغة", "اللغة", "luqad", "luuqad", "ቋንቋ", "زبان",
    "мова", "język", "jezyk", "/language", "/språk", "/sprog",
))


def autonym(language: str) -> str:
    """A language's name in itself ("svenska", "العربية")."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def claims(session: Session, person_id: int, command: str, choice: str | None,
           text: str) -> bool:
    """Whether this message is about the language (asks for the list, or answers it).

    While the list is open only a language's name answers it; anything else (a report,
    a command, a button) ends the question and is handled as usual.
    """
    if command == COMMAND or choice == MENU_KEY or (choice or "").startswith(PICK_KEY):
        return True
    if not choice and fold(text.strip().strip("!?.")) in WORDS:
        return True
    state = get_state(session, person_id)
    if state is None or state.dialog != DIALOG:
        return False
    if not choice and not command and _by_name(text) is not None:
        return True
    clear_state(session, person_id)
    return False


def handle(session: Session, person: Person, choice: str | None, text: str, *,
           now: datetime) -> Reply:
    """List the languages, or switch to the one picked and confirm in it."""
    wanted = choice.removeprefix(PICK_KEY) if choice and choice.startswith(PICK_KEY) else None
    if wanted is None and not choice and text:
        wanted = _by_name(text)
    if wanted in LANGUAGES:
        clear_state(session, person.id or 0)
        if person.language != wanted:
            session.add(AuditLog(at=now, actor=f"person:{person.id}", action="person.language",
                                 entity="person", entity_id=str(person.id),
                                 detail={"from": person.language, "to": wanted}))
            person.language, person.updated_at = wanted, now
            session.add(person)
        return Reply(gettext_for(wanted, "From now on I will write to you in {language_name}.",
                                 language_name=autonym(wanted)))
    set_state(session, person.id or 0, dialog=DIALOG, step="pick", data={}, now=now)
    return Reply(
        gettext_for(person.language, "Which language should I write to you in?"),
        tuple(Choice(f"{PICK_KEY}{code}", autonym(code)) for code in LANGUAGES),
    )


#: Other names people write for a language.
_SYNONYMS = {
    "nb": ("norsk", "norska", "norwegian", "bokmål"), "sv": ("swedish", "svensk"),
    "da": ("danish", "danska"), "ar": ("عربي", "arabic", "arabiska"),
    "fa": ("farsi", "dari", "persian", "دری", "persiska"), "so": ("somali", "somaliska"),
    "ti": ("tigrinya", "tigrinja", "ትግሪኛ"), "uk": ("ukrainian", "українська мова"),
    "pl": ("polish", "polska", "polski"), "en": ("engelska", "engelsk", "english"),
}


def _by_name(text: str) -> str | None:
    said = fold(text.strip().strip("!?."))
    for code in LANGUAGES:
        names = {fold(code), fold(autonym(code)), fold(Locale.parse(code).english_name or ""),
                 *(fold(name) for name in _SYNONYMS.get(code, ()))}
        if said in names:
            return code
    return None
