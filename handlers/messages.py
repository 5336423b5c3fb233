"""Channel-neutral message shapes: what a person sent, what the router knows of it, and what
the bot answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session

from policy.choices import ChoiceKey
from storage.models import ConversationState, Person, Student
from storage.people import Roles

K = TypeVar("K", bound=ChoiceKey)


@dataclass(frozen=True)
class Choice:
    """A button (Telegram, web chat) or a numbered option (SMS): a typed key and a label."""

    key: ChoiceKey
    label: str

    def as_dict(self) -> dict[str, str]:
        """The form stored in the outbox (the key packed)."""
        return {"key": self.key.pack(), "label": self.label}


@dataclass(frozen=True)
class Incoming:
    """A message from a known person on some channel.

    `ref` is unique per inbound message on its channel (so a replayed message is
    answered once); `choice` is the data of a tapped button (a packed
    `policy.choices` key), if any.
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


@dataclass(frozen=True)
class Reportable:
    """A student this person may report for, with the name to show."""

    student: Student
    name: str


@dataclass
class Context:
    """One message being answered, with what the router loaded once for it: the person's
    roles, whom they may report for, their dialog state, the tapped choice unpacked.

    Every route's handler takes a Context (`handlers.router`). `state` is the dialog
    as the message found it; a handler that ends a dialog and passes the message on
    sets it to None.
    """

    session: Session
    person: Person
    roles: Roles
    incoming: Incoming
    now: datetime
    students: list[Reportable]
    state: ConversationState | None
    #: The tapped choice, typed; None for text, and for data no kind knows (`tapped` says
    #: whether something was tapped at all).
    choice: ChoiceKey | None = None
    #: The chat was just linked: the answer is a welcome.
    linked: bool = False

    def key(self, kind: type[K]) -> K:
        """The tapped choice, of the kind its route matched."""
        if not isinstance(self.choice, kind):
            raise TypeError(f"{self.choice!r} is no {kind.__name__}")
        return self.choice

    @property
    def text(self) -> str:
        """The words written (cleaned)."""
        return self.incoming.text

    @property
    def tapped(self) -> bool:
        """Whether a button was tapped (or a number answered), known or not."""
        return self.incoming.choice is not None

    @property
    def command(self) -> str:
        """The command written ("/plan Ali" → "/plan"), lowercase, or ""."""
        text = self.incoming.text
        return text.split()[0].lower().split("@")[0] if text.startswith("/") else ""

    @property
    def language(self) -> str:
        """The writer's language."""
        return self.person.language

    @property
    def person_id(self) -> int:
        """The writer's id."""
        return self.person.id or 0
