"""Which channel reaches a person: Telegram when linked, otherwise SMS, otherwise the web chat."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

#: Outbox rows with this channel are routed when they are sent, by `pick_channel`.
AUTO = "auto"
#: Channels that reach a person's own phone.
REAL_CHANNELS = frozenset({"telegram", "sms"})


@dataclass(frozen=True)
class Reachability:
    """What we know about reaching one person."""

    telegram_linked: bool
    telegram_blocked: bool
    has_phone: bool
    sms_opted_out: bool


def pick_channel(person: Reachability, available: Collection[str]) -> str | None:
    """The channel to use for `person` among the `available` ones, or None if none reaches them.

    Telegram is preferred once linked (it is free and two-way); SMS is the
    first-class channel for everyone else. The local web chat and the console
    stand in only when neither is configured (demo and development): where a
    real channel exists, a message nobody can receive must show as failed, not
    as delivered to a screen nobody reads.
    """
    if "telegram" in available and person.telegram_linked and not person.telegram_blocked:
        return "telegram"
    if "sms" in available and person.has_phone and not person.sms_opted_out:
        return "sms"
    if REAL_CHANNELS & set(available):
        return None
    for local in ("webchat", "console"):
        if local in available:
            return local
    return None
