"""Channel-neutral message shapes: what a person sent, and what the bot answers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    """A button (Telegram, web chat) or a numbered option (SMS)."""

    key: str
    label: str

    def as_dict(self) -> dict[str, str]:
        """The form stored in the outbox."""
        return {"key": self.key, "label": self.label}


@dataclass(frozen=True)
class Incoming:
    """A message from a known person on some channel.

    `ref` is unique per inbound message on its channel (so a replayed message is
    answered once); `choice` is the key of a tapped button, if any.
    """

    person_id: int
    channel: str
    ref: str
    text: str = ""
    choice: str | None = None


@dataclass(frozen=True)
class Reply:
    """An answer: text in the recipient's language, with optional choices."""

    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)
