"""The channel interface the dispatcher sends through, and how a send can fail."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from sqlmodel import Session

from policy.pacing import Ceiling
from storage.models import OutboxMessage, Person

#: Answers claimed for this worker, each with its recipient (None: a stranger's chat).
Claimed = list[tuple[OutboxMessage, Person | None]]
#: The dispatcher's `deliver`: sends claimed answers at once, ahead of the queue.
Deliver = Callable[[Claimed], Coroutine[Any, Any, int]]


class ChannelError(Exception):
    """Sending failed; the message says why without any personal data.

    It is retried later (after `retry_after` seconds when the provider said),
    unless `final`: the provider refused the message itself and will again.
    `code` is the provider's error code, if any (stored on the message).
    """

    def __init__(
        self, reason: str, *, retry_after: float | None = None, final: bool = False,
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.final = final
        self.code = code


class ChannelUnreachable(ChannelError):
    """The recipient cannot be reached on this channel (blocked the bot, opted out, dead number).

    Retrying will not help; the message goes to the person's next channel.
    """

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason, final=True, code=code)


class ChannelMaybeSent(ChannelError):
    """The request went out, but its answer was lost (a timeout after sending).

    The provider may have the message: it is not sent again but reported, because a
    second notice to a parent is worse than a late one.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, final=True)


class Channel(Protocol):
    """Sends rendered outbox messages to one kind of address."""

    name: str
    #: True when handing the message over is delivery itself (web chat, console).
    delivers_locally: bool

    async def send(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Send `message` to `person` (or to `message.address`); return the provider's ref."""
        ...


class Paced(Channel, Protocol):
    """A channel with a provider's ceiling, which the dispatcher keeps (see bot/pacing.py)."""

    ceiling: Ceiling

    def address_of(self, message: OutboxMessage, person: Person | None) -> str | None:
        """Where the message goes, as the ceiling per address counts it (None: not counted)."""
        ...


def text_with_link(message: OutboxMessage, base_url: str) -> str:
    """The message's text, with the page its attachment points to (`{"link": "/overview"}`)
    as a full address on its own last line: made when sent, where the address is known."""
    link = (message.attachment or {}).get("link")
    if not isinstance(link, str) or not link.startswith("/"):
        return message.text
    return f"{message.text}\n{base_url.rstrip('/')}{link}"


def answers_claimed_for(worker: str, deliver: Deliver | None) -> str | None:
    """The worker a channel's answers are claimed for in their own transaction: this one,
    when the channel sends them itself (`deliver`); else None, for the dispatcher's round."""
    return worker if deliver is not None else None


def with_recipients(session: Session, rows: list[OutboxMessage]) -> Claimed:
    """Each answer with its recipient, read in the transaction that made them (to send
    them once it commits)."""
    return [(row, session.get(Person, row.recipient_id) if row.recipient_id else None)
            for row in rows]
