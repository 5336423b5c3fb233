"""Text messages: GSM-7 or UCS-2, segments, shortening, and the STOP / START / HELP keywords.

Pure domain rules with no I/O. An SMS is sent in the GSM 03.38 default alphabet (GSM-7:
160 septets, or 153 per segment once split) when every character is in it, and in UCS-2
otherwise (70 UTF-16 code units, or 67 per segment). Swedish, Norwegian and Danish letters
are GSM-7; one curly quote or dash in a text makes all of it UCS-2, so typography is
replaced before sending.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from policy.freetext import fold

# GSM 03.38 default alphabet in table order, without the escape to the extension table
# (0x1B). 0x09 is the capital Ç: the lowercase ç is not in the alphabet.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet: one septet each."""

GSM7_EXTENDED: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""The GSM 03.38 extension table: an escape septet and one more, two septets each."""

_GSM7 = GSM7_BASIC | GSM7_EXTENDED

_GSM7_SINGLE, _GSM7_PART = 160, 153  # a part carries a 7-septet concatenation header
_UCS2_SINGLE, _UCS2_PART = 70, 67

ELLIPSIS = "..."
"""What `fit` appends to a shortened text."""

_TYPOGRAPHY: dict[int, str | None] = {
    **dict.fromkeys(map(ord, "“”„‟«»″"), '"'),
    **dict.fromkeys(map(ord, "‘’‚‛‹›′´`"), "'"),
    **dict.fromkeys(map(ord, "‐‑‒–—―−"), "-"),
    **dict.fromkeys(map(ord, "•·‣∙⁃◦"), "-"),
    ord("…"): ELLIPSIS,
    # Direction isolates (Unicode 6.3) show as boxes on older handsets; the old
    # right-to-left mark around a name or number keeps it in place there, and one before a
    # name that opens the text keeps the whole message right to left.
    **dict.fromkeys(map(ord, "\u2066\u2067"), None),
    **dict.fromkeys(map(ord, "\u2068\u2069"), "\u200f"),
    # The roll call's marks (absent, late) read as letters on any handset.
    **dict.fromkeys(map(ord, "✗✘"), "X"),
    ord("⏱"): "(L)",
    ord("✓"): "OK",
    # Every space but the plain one: Babel groups digits with U+00A0 in sv/nb and puts
    # U+202F before "AM" in en.
    **dict.fromkeys(map(ord, "\t\u00a0\u1680\u202f\u205f\u3000"), " "),
    **dict.fromkeys(range(0x2000, 0x200B), " "),
    **dict.fromkeys(map(ord, "\u2028\u2029"), "\n"),
    # Invisible and of no use in a text message: zero-width space, word joiner, BOM,
    # soft hyphen.
    **dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None),
}
# Zero-width joiners and bidi controls. They are dropped only where that makes a text GSM-7:
# in a text that is UCS-2 anyway they cost one unit each, and they keep Arabic dates
# ("23\u200f/11\u200f/2026" from Babel) in order and emoji sequences joined.
_LAYOUT = frozenset("\u200c\u200d\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
                    "\u2066\u2067\u2068\u2069")
_DROP_LAYOUT = dict.fromkeys(map(ord, _LAYOUT))


def is_gsm7(text: str) -> bool:
    """True when every character of `text` is in the GSM-7 alphabet or its extension table."""
    return all(char in _GSM7 for char in text)


def _parts(costs: Sequence[int], single: int, part: int) -> int:
    """Segments for characters of these costs: one if all fit, else parts filled in order.

    A character is never split over two parts (an escaped GSM-7 character, or a UTF-16
    surrogate pair), so a part may carry a unit less than `part`; this can make one more
    segment than the plain ceil(total / part) in rare texts, and it is what is billed.
    """
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def segments(text: str) -> int:
    """How many SMS segments `text` is sent as (0 for "").

    GSM-7: one segment up to 160 septets (extension characters count two), else 153 septets
    per segment. UCS-2: one up to 70 UTF-16 code units (an emoji is usually two), else 67
    per segment.
    """
    if is_gsm7(text):
        return _parts([2 if char in GSM7_EXTENDED else 1 for char in text],
                      _GSM7_SINGLE, _GSM7_PART)
    return _parts([2 if ord(char) > 0xFFFF else 1 for char in text], _UCS2_SINGLE, _UCS2_PART)


def to_sms(text: str) -> str:
    """`text` with typography that would force UCS-2 replaced by GSM-7 equivalents.

    Curly and angle quotes become straight ones, dashes and bullets "-", "…" becomes "...",
    every kind of space a plain space, and zero-width and bidi control marks are dropped
    (kept when the text needs UCS-2 anyway). Letters are left alone, including those of
    other scripts: Arabic needs UCS-2, and that is fine. Applying it twice changes nothing.
    """
    plain = unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY)
    without_layout = plain.translate(_DROP_LAYOUT)
    return without_layout if is_gsm7(without_layout) else plain


def _longest(cuts: Sequence[int], kept: Callable[[int], str], max_segments: int) -> int | None:
    """The largest of the increasing `cuts` whose kept text and "..." fit, or None.

    Fitting is not monotonic over all cuts (a shorter text may drop the one character that
    needs UCS-2, and GSM-7 holds more), but the kept texts only grow, so they are GSM-7 up
    to some cut and UCS-2 after it, and fitting is monotonic on each side of that cut.
    """
    low, high = 0, len(cuts)
    while low < high:  # the first cut whose kept text is UCS-2
        middle = (low + high) // 2
        if is_gsm7(kept(cuts[middle])):
            low = middle + 1
        else:
            high = middle
    for start, stop in ((low, len(cuts)), (0, low)):
        found = None
        while start < stop:
            middle = (start + stop) // 2
            if segments(kept(cuts[middle]) + ELLIPSIS) <= max_segments:
                found, start = cuts[middle], middle + 1
            else:
                stop = middle
        if found is not None:
            return found
    return None


def fit(text: str, max_segments: int = 3) -> str:
    """`to_sms(text)`, shortened with "..." if it needs more than `max_segments` segments.

    The text is cut at the last whitespace that leaves room for "...", never inside a word,
    unless its first word alone is too long (then that word is cut). A cut at a line break
    is preferred, keeping whole lines, when it keeps at least half as much text as the cut
    at the last word would. Text that fits comes back as `to_sms` made it.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    text = to_sms(text)
    if segments(text) <= max_segments:
        return text
    # No text of more characters than this fits, whatever its encoding.
    window = text[: max(_GSM7_SINGLE, _GSM7_PART * max_segments) + 1]

    def kept(cut: int) -> str:
        return window[:cut].rstrip()

    first = len(window) - len(window.lstrip())
    words = [cut for cut in range(first + 1, len(window)) if window[cut].isspace()]
    word = _longest(words, kept, max_segments)
    if word is None:
        hard = _longest(range(first + 1, len(window)), kept, max_segments)
        return kept(hard if hard is not None else 0) + ELLIPSIS
    lines = [cut for cut in words if window[cut] in "\r\n"]
    line = _longest(lines, kept, max_segments)
    if line is not None and 2 * len(kept(line)) >= len(kept(word)):
        return kept(line) + ELLIPSIS
    return kept(word) + ELLIPSIS


STOP, START, HELP = "stop", "start", "help"

_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(
        map(fold, (
            # Twilio's default opt-out words: an opt-out there must be one here too.
            "stop", "stopall", "unsubscribe", "end", "quit", "optout", "revoke",
            "stoppa", "avsluta", "avregistrera", "sluta",  # sv
            "stopp", "slutt", "avmeld", "avregistrer",  # nb ("avslutt" ends a dialog)
            "afmeld", "frameld", "afslut", "stoppe",  # da ("stop" as in English)
            "إيقاف", "توقف", "أوقف",  # ar; "توقف" is fa too ("لغو" cancels a dialog there)
            "стоп", "відписатися",  # uk ("скасувати" cancels a dialog)
            "wypisz",  # pl ("stop" as in English; "anuluj" cancels a dialog)
            # so and ti: none of their own. Somali "jooji" and Tigrinya "ሰርዝ", "ኣቋርጽ" are
            # the app's Cancel.
        )),
        STOP,
    ),
    **dict.fromkeys(
        map(fold, (
            "start", "unstop", "begin", "starta", "börja", "starte", "begynn", "begynd",
            "ابدأ", "bilow", "ጀምር", "شروع", "старт",  # ar, so, ti, fa, uk
        )),
        START,
    ),
    **dict.fromkeys(
        map(fold, (
            "help", "info", "hjälp", "hjalp", "hjelp", "hjælp", "مساعدة",
            "caawin", "caawimo", "ሓገዝ", "راهنما", "کمک", "допомога", "pomoc",  # so ti fa uk pl
        )),
        HELP,
    ),
}


def keyword(text: str) -> str | None:
    """`STOP`, `START` or `HELP` when the whole of `text` is such a keyword, else None.

    Any supported language ("STOPP", "Avsluta", "afmeld", "إيقاف", "Hjälp!", "стоп",
    "pomoc"), ignoring case, missing diacritics, surrounding whitespace, invisible marks and
    trailing punctuation. "Cancel", "avbryt", "avlys", "annuller", "jooji", "لغو",
    "скасувати" and "anuluj" are not keywords: they end a dialog in the app, not the
    messages.
    """
    visible = "".join(
        char for char in unicodedata.normalize("NFC", text)
        if unicodedata.category(char) != "Cf"
    ).strip()
    while visible and (visible[-1].isspace() or unicodedata.category(visible[-1])[0] == "P"):
        visible = visible[:-1]
    return _KEYWORDS.get(fold(visible)) if visible else None
