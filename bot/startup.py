"""What can stop a command before it starts, each said in one line with what to do: a
database that cannot be opened, a web port already in use."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import Context


class StartupError(Exception):
    """A command cannot start; the message is one line: what is wrong and what to do."""


def database_problem(error: BaseException, url: str) -> str:
    """One line on why the database at `url` cannot be opened, and what to do about it."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True).replace("+psycopg://", "://", 1)
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    reason = lines[-1] if lines else type(original).__name__
    reason = reason.split("FATAL:", 1)[-1].strip()
    user, database = parsed.username or "narvaro", parsed.database or "narvaro"
    if isinstance(error, ModuleNotFoundError):
        return ("PostgreSQL needs the psycopg driver: .venv/bin/pip install -e '.[postgres]'")
    if "role" in reason and "does not exist" in reason:
        hint = (f"create it: sudo -u postgres createuser {user} && sudo -u postgres "
                f"createdb -O {user} {database}")
    elif "database" in reason and "does not exist" in reason:
        hint = f"create it: sudo -u postgres createdb -O {user} {database}"
    elif "password" in reason:
        hint = "check the user and password in NARVARO_DATABASE_URL"
    elif "unable to open database file" in reason:
        hint = "the folder of the SQLite file must exist and be writable"
    elif "refused" in reason or "could not connect" in reason or "timeout" in reason:
        hint = "is PostgreSQL running there, and does NARVARO_DATABASE_URL name its host?"
    else:
        hint = "check NARVARO_DATABASE_URL"
    return f"cannot open the database {shown}: {reason}; {hint}"


def open_context(settings: Settings) -> Context:
    """The command's context (database upgraded), or StartupError saying why not."""
    from bot.context import build_context

    try:
        return build_context(settings)
    except (OperationalError, DBAPIError, ArgumentError, ModuleNotFoundError) as error:
        if isinstance(error, ModuleNotFoundError) and error.name != "psycopg":
            raise
        raise StartupError(database_problem(error, settings.database_url)) from None


def port_problem(host: str, port: int) -> str | None:
    """Why the web server cannot listen on `host`:`port` (one line, what to do), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except OSError:
        return f"NARVARO_HTTP_HOST {host!r} is not an address of this machine"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is in use (is Närvaro already running?); stop "
                        "that program or set NARVARO_HTTP_PORT to a free port")
            return (f"cannot listen on {host}:{port} ({error.strerror}); check "
                    "NARVARO_HTTP_HOST and NARVARO_HTTP_PORT")
    return None


def run_bot(context: Context) -> int:
    """`narvaro run` until Ctrl-C or SIGTERM: 0 when stopped, 1 when Telegram refused."""
    from telegram.error import TelegramError

    from bot.app import serve

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(context))
    except TelegramError as error:  # its text may hold the token: name the kind only
        raise StartupError(
            f"Telegram refused to start ({type(error).__name__}); check "
            "NARVARO_TELEGRAM_TOKEN and NARVARO_TELEGRAM_API_URL") from None
    return 0
