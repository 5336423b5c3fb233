"""Logging that carries ids only: third-party loggers that write message contents, phone
numbers or tokens are kept at WARNING, and what is written is redacted once more."""

from __future__ import annotations

import logging
import re

#: httpx/httpcore log each request's URL (the Bot API's holds the token); python-telegram-bot
#: logs update contents (texts, contacts) at DEBUG; twilio's client logs each request (numbers
#: and message text) at INFO; uvicorn's access log has URLs; the rest are noisy.
NOISY = ("httpx", "httpcore", "apscheduler", "alembic", "telegram", "uvicorn", "twilio")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: A phone number in international form, as stored ("+46701234567", "+47 412 34 503").
_PHONE = re.compile(r"\+\d[\d ]{5,17}\d")
#: PostgreSQL's DETAIL of a broken constraint quotes the row's values ("Key (phone)=(+467…)
#: already exists"); SQLAlchemy's `hide_parameters` does not reach the driver's message.
_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)")


def quiet_libraries() -> None:
    """Keep the libraries that log personal data or secrets at WARNING and above."""
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def redact(text: str) -> str:
    """`text` without phone numbers or the values a database error quotes."""
    return _PHONE.sub("+…", _KEY_VALUES.sub(r"\1=(…)", text))


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, goes through `redact`: our own log lines
    carry ids only, and this catches what an exception from a library brings along."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as the standard formatter writes it, redacted."""
        return redact(super().format(record))


def configure_logging(level: str | int) -> None:
    """Log to standard error at `level`, redacted, with the noisy libraries kept quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    quiet_libraries()
