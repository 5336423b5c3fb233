"""Anyone may change the language Närvaro writes to them in, at any time.

"/language", the menu, or by SMS the word for "language" in any shipped
language ("SPRÅK", "SPROG", "LANGUAGE", "لغة", …) lists the languages, each
in its own name; a tap, a number (SMS) or the language's name picks one. While the
list is open only a language's name answers it; anything else (a report, a command,
a button) closes it and is handled as usual. See `language.mmd`.
"""

from __future__ import annotations

from babel import Locale

from handlers.messages import Choice, Context, Reply
from locales import LANGUAGES, gettext_for
from policy.choices import LanguagePick
from policy.freetext import fold
from storage.conversations import clear_state, set_state
from storage.models import AuditLog

COMMAND = "/language"
DIALOG = "language"
PICK = "pick"
#: The word for "language" in each shipped language (what an SMS user would write).
WORDS = frozenset(fold(word) for word in (
    "language", "språk", "sprog", "لغة", "اللغة", "luqad", "luuqad", "ቋንቋ", "زبان",
    "мова", "język", "jezyk", "/language", "/språk", "/sprog",
))


def autonym(language: str) -> str:
    """A language's name in itself ("svenska", "العربية")."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def asks_for_list(text: str) -> bool:
    """Whether the words ask for the list: the word for "language" in any language."""
    return fold(text.strip().strip("!?.")) in WORDS


def names_one(text: str) -> bool:
    """Whether the words name a language (answering the list)."""
    return _by_name(text) is not None


def leave(context: Context) -> None:
    """The list was open and the message does not answer it: the list closes and the
    message goes on to the other routes."""
    clear_state(context.session, context.person_id)
    context.state = None


def handle(context: Context) -> Reply:
    """List the languages, or switch to the one picked and confirm in it."""
    session, person, text, now = context.session, context.person, context.text, context.now
    wanted = context.choice.code if isinstance(context.choice, LanguagePick) else None
    if wanted is None and not context.tapped and text:
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
    set_state(session, person.id or 0, dialog=DIALOG, step=PICK, data={}, now=now)
    return Reply(
        gettext_for(person.language, "Which language should I write to you in?"),
        tuple(Choice(LanguagePick(code), autonym(code)) for code in LANGUAGES),
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
