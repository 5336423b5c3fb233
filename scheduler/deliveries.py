"""Messages that may not have arrived and wait for a person: the school's principals hear
once a day how many.

A `maybe_sent` message went to the provider but its answer was lost. Twilio can be asked
(the dispatcher settles SMS by itself, see `bot.sms.TwilioSms.reconcile`); Telegram cannot,
and an SMS still unsettled an hour on could not be asked about either. Those wait for a
person to check and settle them (`narvaro outbox list --status maybe_sent`, `narvaro outbox
settle`). The principals of each school whose people they were for are told the count at
08:00, once a day while any wait: a count only, never who, what or on which channel.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, or_, select

from locales import ngettext_for
from policy.routing import AUTO
from scheduler.schools import each_school
from storage.models import OutboxMessage, Person, StaffRole
from storage.outbox import MAYBE_SENT, MessageKind, enqueue
from storage.people import roles_of

TELL_AT = time(8, 0)
#: An SMS is asked about at Twilio every minute; still unsettled this long after it was
#: made, Twilio could not settle it and it waits for a person too.
SMS_SETTLES_WITHIN = timedelta(hours=1)


def waiting_for_a_person(session: Session, now: datetime) -> Counter[int]:
    """Per school, how many `maybe_sent` messages to its people wait for a person."""
    recipients = session.execute(select(OutboxMessage.recipient_id).where(
        OutboxMessage.status == MAYBE_SENT, col(OutboxMessage.recipient_id).is_not(None),
        or_(OutboxMessage.channel != "sms",
            col(OutboxMessage.created_at) < now - SMS_SETTLES_WITHIN))).scalars().all()
    counts: Counter[int] = Counter()
    schools_of: dict[int, set[int]] = {}
    for person_id in recipients:
        if person_id not in schools_of:
            person = session.get(Person, person_id)
            schools_of[person_id] = set() if person is None else _schools(session, person)
        counts.update(schools_of[person_id])
    return counts


def _schools(session: Session, person: Person) -> set[int]:
    roles = roles_of(session, person)
    found = {school.id for school, _role in roles.staff if school.id is not None}
    found.update(child.school_id for child, _person in roles.children)
    if roles.student is not None:
        found.add(roles.student.school_id)
    return found


def tell_unsettled_deliveries(session: Session, now: datetime) -> int:
    """From 08:00 (school time), tell each school's principals how many messages to its
    people may not have arrived and wait for a check; once a day. Returns how many were
    told."""
    told = 0
    waiting = waiting_for_a_person(session, now)
    for school in each_school(session, now, only=waiting):
        school_id, count, local = school.id, waiting[school.id], school.local
        if school.clock < TELL_AT:
            continue
        principals = session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(StaffRole.school_id == school_id, StaffRole.role == "principal")
            .order_by(col(Person.id))).scalars().all()
        for principal in principals:
            text = ngettext_for(
                principal.language,
                # Translators: to a principal, once a day; only a count, never who or what.
                "{n} message from Närvaro may not have arrived and waits for a check "
                "(narvaro outbox list --status maybe_sent).",
                "{n} messages from Närvaro may not have arrived and wait for a check "
                "(narvaro outbox list --status maybe_sent).", count)
            told += enqueue(
                session, dedupe_key=f"unsettled:{school_id}:{principal.id}:{local.date()}",
                kind=MessageKind.UNSETTLED,
                recipient_id=principal.id, channel=AUTO, language=principal.language,
                text=text, now=now)
    return told
