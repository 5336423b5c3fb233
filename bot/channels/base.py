"""The channel interface the dispatcher sends through."""

from __future__ import annotations

from typing import Protocol

from storage.models import OutboxMessage, Person


class ChannelError(Exception):
    """Sending failed; the message says why without any personal data."""


class Channel(Protocol):
    """Sends rendered outbox messages to one kind of address."""

    name: str
    #: True when handing the message over is delivery itself (web chat, console).
    delivers_locally: bool

    async def send(self, message: OutboxMessage, person: Person) -> str | None:
        """Send `message` to `person`; return the provider's reference, if any."""
        ...
