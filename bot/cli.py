"""The `narvaro` command line: parse, load the settings, open the database, run a command.

Only the arguments are known at import time (`narvaro --help` answers at once); a
command's module, and what it needs, is imported when it runs. Every refusal is one line
on stderr with what to do, and exit code 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.cli_parser import build_parser

EXIT_INVALID = 2


def _handler(name: str) -> Callable[[Any, Any], int]:
    module, _, function = name.partition(":")
    handler: Callable[[Any, Any], int] = getattr(importlib.import_module(module), function)
    return handler


def _say(message: str) -> int:
    sys.stderr.write(f"narvaro: {message}\n")
    return EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `narvaro` console script."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a mistake already said in one line
        return done.code if isinstance(done.code, int) else EXIT_INVALID
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        for line in str(error).splitlines():
            _say(line)
        return EXIT_INVALID
    from bot.logs import configure_logging
    from bot.startup import StartupError, open_context

    configure_logging(settings.log_level)
    try:
        context = open_context(settings)
    except StartupError as error:
        return _say(str(error))
    try:
        if args.command == "run":
            from bot.startup import run_bot

            return run_bot(context)
        return int(_handler(args.handler)(context, args))
    except StartupError as error:
        return _say(str(error))
    finally:
        context.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
