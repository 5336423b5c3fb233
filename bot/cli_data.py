"""`narvaro audit list`, `export`, `forget`, `purge`: the audit trail and a person's data
(GDPR access and erasure; report notes past their retention)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.context import Context
from policy.phones import to_e164
from storage.audit import audit, list_audit
from storage.db import session_scope
from storage.intake import forget_sender, intake_engine
from storage.models import Person, Student
from storage.privacy import export_person, forget_person, purge_message_texts, purge_notes

EXIT_INVALID = 2


def _person(session: Session, context: Context, phone: str) -> Person | None:
    number = to_e164(phone, context.policy.country)
    if number is None:
        return None
    return session.execute(select(Person).where(Person.phone == number)).scalars().first()


def cmd_audit(context: Context, args: argparse.Namespace) -> int:
    """`audit list [--student ID] [--actor A] [--action PREFIX] [--since ISO] [--json]`."""
    since = args.since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=context.settings.zone)
    with session_scope(context.engine) as session:
        rows = list_audit(session, student=args.student, actor=args.actor,
                          action=args.action_prefix, since=since)
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        for row in rows:
            detail = json.dumps(row["detail"], ensure_ascii=False) if row["detail"] else ""
            at = datetime.fromisoformat(row["at"]).astimezone(context.settings.zone)
            sys.stdout.write(f"{at:%Y-%m-%d %H:%M}  {row['actor']}  {row['action']}  "
                             f"{row['entity']}:{row['entity_id'] or '-'}  "
                             f"{row['student_id'] or '-'}  {detail}\n")
    return 0


def cmd_export(context: Context, args: argparse.Namespace) -> int:
    """`export --guardian PHONE`: everything stored about the person and their children."""
    with session_scope(context.engine) as session:
        person = _person(session, context, args.guardian)
        if person is None:
            sys.stderr.write("nobody with that phone number\n")
            return EXIT_INVALID
        data: dict[str, Any] = export_person(session, person)
        audit(session, at=context.clock.now(), actor="cli", action="person.export",
              entity="person", entity_id=person.id)
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_forget(context: Context, args: argparse.Namespace) -> int:
    """`forget --guardian PHONE`: remove a person who has left (not a student: the school
    keeps a student's record until the roster drops them)."""
    with session_scope(context.engine) as session:
        person = _person(session, context, args.guardian)
        if person is None:
            sys.stderr.write("nobody with that phone number\n")
            return EXIT_INVALID
        if session.execute(select(Student.id).where(
                Student.person_id == person.id)).first() is not None:
            sys.stderr.write("that number is a student's own: a student is not forgotten "
                             "this way\n")
            return EXIT_INVALID
        phone = person.phone or ""
        counts = forget_person(session, person, now=context.clock.now())
    # Texts from them not yet handled (the intake may be a file of its own, see
    # storage.intake) go too.
    intake = intake_engine(context.engine)
    with session_scope(intake) as session:
        counts["texts waiting"] = forget_sender(session, phone)
    if intake is not context.engine:
        intake.dispose()
    removed = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    sys.stdout.write(f"Forgotten person {person.id}: {removed or 'nothing else was stored'}.\n")
    return 0


def cmd_purge(context: Context, args: argparse.Namespace) -> int:
    """`purge`: clear report notes and message texts past their retention now (the
    scheduler does it too)."""
    with session_scope(context.engine) as session:
        purged = purge_notes(session, context.clock.now())
        cleared = purge_message_texts(session, context.clock.now())
    sys.stdout.write(f"Purged {purged} report note(s) and the text of {cleared} old "
                     "message(s).\n")
    return 0
