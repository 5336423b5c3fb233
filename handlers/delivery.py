"""What a provider says about delivery afterwards: Twilio's status callbacks."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from handlers.mentor_notices import notify_guardian_unreachable
from storage.inbound import mark_seen
from storage.models import OutboxMessage, Person
from storage.people import mark_reachable, mark_unreachable, set_sms_opt_out

log = logging.getLogger(__name__)
#: Recipient unsubscribed (sent STOP to the sender): they must not get more SMS.
OPTED_OUT = "21610"
#: The number cannot take SMS: unknown or unreachable handset, landline, invalid number.
UNREACHABLE = frozenset({"30003", "30004", "30005", "30006", "21211", "21612", "21614"})
FINAL = frozenset({"delivered", "undelivered", "failed"})


def record_sms_status(
    session: Session, *, sid: str, status: str, error_code: str | None, now: datetime
) -> bool:
    """Store a delivery status on the outbox row; act on a final failure. True if known.

    Undeliverable numbers are marked unreachable and the children's mentors get
    a task to call; an opted-out recipient is marked opted out. Replays are no-ops.
    """
    message = session.execute(
        select(OutboxMessage).where(OutboxMessage.provider_ref == sid)
    ).scalar_one_or_none()
    if message is None:  # not known (yet): nothing is marked, so a later try still counts
        return False
    if not mark_seen(session, channel="sms-status", ref=f"{sid}:{status}", now=now):
        return True
    if message.provider_status in FINAL:  # callbacks can arrive out of order: keep the last word
        return True
    message.provider_status = status
    if status in FINAL:
        message.address = None if message.recipient_id is None else message.address
    if status == "delivered":
        message.status, message.delivered_at = "delivered", now
    elif status in FINAL:
        message.status, message.error_code = "failed", error_code
        message.last_error = f"{status} ({error_code or 'no code'})"
    session.add(message)
    person = session.get(Person, message.recipient_id) if message.recipient_id else None
    if person is None:
        return True
    if status == "delivered" and person.sms_unreachable_at is not None:
        mark_reachable(session, person)
    elif status in FINAL and status != "delivered":
        on_sms_refused(session, person, error_code, now=now)
    return True


def on_sms_refused(session: Session, person: Person, code: str | None, *, now: datetime) -> None:
    """A text to `person` could not be delivered with this error code: remember why."""
    if code == OPTED_OUT:
        set_sms_opt_out(session, person, opted_out=True, now=now)
        log.info("sms: person %s has opted out at the carrier", person.id)
    elif code in UNREACHABLE and person.sms_unreachable_at is None:
        mark_unreachable(session, person.id or 0, channel="sms", now=now)
        notify_guardian_unreachable(session, guardian=person, now=now)
        log.info("sms: person %s unreachable (%s)", person.id, code)
