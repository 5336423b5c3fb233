"""Channels that stay on this machine: the log (console) and the local web chat."""

from __future__ import annotations

import logging

from storage.models import OutboxMessage, Person

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Writes that a message went out to the log (ids only: no text, no address)."""

    name = "console"
    delivers_locally = True

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Log the hand-over."""
        log.info("console: message %s to person %s (%s)", message.id,
                 person.id if person else "-", message.language)
        return None


class WebChatChannel:
    """The local web chat reads delivered messages from the outbox; sending marks them."""

    name = "webchat"
    delivers_locally = True

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Nothing to transmit: the web chat polls for the person's delivered messages."""
        return None
