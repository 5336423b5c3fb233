"""Logging that carries ids only: third-party loggers that write message contents, phone
numbers or tokens are kept at WARNING."""

from __future__ import annotations

import logging

#: httpx/httpcore log each request's URL (the Bot API's holds the token); python-telegram-bot
#: logs update contents (texts, contacts) at DEBUG; twilio's client logs each request (numbers
#: and message text) at INFO; uvicorn's access log has URLs; the rest are noisy.
NOISY = ("httpx", "httpcore", "apscheduler", "alembic", "telegram", "uvicorn", "twilio")


def quiet_libraries() -> None:
    """Keep the libraries that log personal data or secrets at WARNING and above."""
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
