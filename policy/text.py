"""Inbound text made safe to store: whatever a phone, a chat client or a pasted file sends.

PostgreSQL refuses NUL in text and a UTF-8 codec refuses lone surrogates (JSON can carry
"\\ud800"); other control characters are never meant. Line breaks stay; format characters
(right-to-left marks, zero-width joiners in emoji) are part of the writing and stay too.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n"}
_AS_SPACE = {"\t", "\v", "\f"}


def clean_text(text: str) -> str:
    """`text` without NUL, other control characters and lone surrogates (a tab becomes a
    space, "\\r\\n" and "\\r" a line break)."""
    if text.isprintable():  # the common case: nothing to do
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in text:
        if char in _KEEP:
            out.append(char)
        elif char in _AS_SPACE:
            out.append(" ")
        elif unicodedata.category(char) not in {"Cc", "Cs"}:
            out.append(char)
    return "".join(out)


def one_line(text: str) -> str:
    """What a person wrote, as one clean line: cleaned as above, and runs of spaces, tabs and
    line breaks as one space (a goal, a morning text, a note, a measure)."""
    return " ".join(clean_text(text).split())
