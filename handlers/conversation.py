"""The answers every conversation shares: the welcome after linking, cancel, `/start`, and
words that are no report (thanks, a question)."""

from __future__ import annotations

from handlers import report_dialog
from handlers.menu import greet, is_greeting, menu_choices, show_help
from handlers.messages import Context, Reply
from locales import gettext_for
from storage.conversations import clear_state

START = "/start"
#: Thanks in every shipped language (as typed, lowercase): answered kindly, nothing recorded.
THANKS_WORDS = ("tack", "takk", "tak", "thank", "thx", "شكر", "mahadsan", "የቐንየ", "ممنون",
                "مرسی", "дякую", "dzięk", "dziek")


def is_pleasantry(text: str) -> bool:
    """Whether the words are only a greeting or thanks ("hej", "tack!", "ok tack så mycket"):
    a thanks word in at most four words."""
    lowered = text.lower()
    return is_greeting(text) or (len(text.split()) <= 4
                                 and any(word in lowered for word in THANKS_WORDS))


def welcome(context: Context) -> Reply:
    """The chat was just linked to the person's phone number: thanks, and the greeting."""
    clear_state(context.session, context.person_id)
    return Reply(
        gettext_for(context.language, "Thank you! This chat is now linked to your phone number.")
        + "\n" + greet(context).text
    )


def cancel(context: Context) -> Reply:
    """End the open dialog; with none open, "avbryt" right after a receipt takes the report
    back; otherwise the greeting."""
    if clear_state(context.session, context.person_id):
        context.state = None
        return Reply(gettext_for(context.language, "Cancelled. Nothing was saved."))
    undone = None
    if not context.tapped and context.students:
        undone = report_dialog.undo(context.session, context.person, context.students,
                                    now=context.now)
    return undone or greet(context)


def restart(context: Context) -> Reply:
    """`/start`: any dialog closed, and the greeting."""
    clear_state(context.session, context.person_id)
    context.state = None
    return greet(context)


def not_a_report(context: Context) -> Reply:
    """Thanks, a question, or words that report nothing: nothing is recorded."""
    words = context.text.lower()
    if "?" in words or "؟" in words:
        return show_help(context)
    if any(word in words for word in THANKS_WORDS):
        return Reply(gettext_for(context.language, "You're welcome!"),
                     menu_choices(context.language, context.roles))
    return greet(context)
