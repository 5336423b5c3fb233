"""`narvaro sync ss12000 [--full]`: sync with the school's system now and print what
changed; `narvaro person set`: what a school system does not know about a person."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import select

from bot.context import Context
from bot.school_system import build_connector
from connectors.ss12000.client import SS12000Error
from locales import LANGUAGES
from policy.phones import to_e164
from storage.audit import audit
from storage.db import session_scope
from storage.models import Person

EXIT_INVALID, EXIT_FAILED = 2, 1


def cmd_sync(context: Context, args: argparse.Namespace) -> int:
    """Sync now (whole with `--full`), write reports back, print the changes."""
    connector = build_connector(context.settings, context.engine, context.clock,
                                context.policy)
    if connector is None:
        sys.stderr.write("narvaro: set NARVARO_SS12000_URL (and its credentials and school "
                         "units) to sync with an SS 12000 server\n")
        return EXIT_INVALID
    try:
        result = connector.sync(full=args.full)
        written = connector.push_reports()
    except SS12000Error as error:
        sys.stderr.write(f"narvaro: sync failed: {error}\n")
        return EXIT_FAILED
    changes = ", ".join(f"{name} {count}" for name, count in result.counts.items() if count)
    sys.stdout.write(f"{'Full' if result.full else 'Incremental'} sync: "
                     f"{changes or 'no changes'}\n")
    if written:
        sys.stdout.write("Reports written back: " + ", ".join(
            f"{status} {count}" for status, count in sorted(written.items())) + "\n")
    for problem in result.problems:
        sys.stdout.write(f"  {problem}\n")
    return 0


def cmd_person_set(context: Context, args: argparse.Namespace) -> int:
    """Set a person's language (a school system has none; a sync keeps what is set)."""
    language = args.language.lower()
    if language not in LANGUAGES:
        sys.stderr.write(f"--language must be one of {', '.join(LANGUAGES)}\n")
        return EXIT_INVALID
    number = to_e164(args.phone, context.policy.country)
    with session_scope(context.engine) as session:
        person = session.execute(select(Person).where(Person.phone == number)).scalars().first()
        if number is None or person is None:
            sys.stderr.write("no person with that phone number\n")
            return EXIT_INVALID
        person.language, person.updated_at = language, context.clock.now()
        audit(session, at=context.clock.now(), actor="cli", action="person.set",
              entity="person", entity_id=person.id, changed=["language"])
    sys.stdout.write("Language set.\n")
    return 0
