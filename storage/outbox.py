"""The outbox: every outbound message is a row, enqueued with the decision that caused it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, update
from sqlmodel import Session, col, select

from storage.db import insert_new, table_of
from storage.models import AuditLog, OutboxMessage, Person

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=30)
#: A claim not renewed for this long belongs to a worker that is gone: others take it over.
CLAIM_LEASE = timedelta(seconds=30)
#: Priorities: an answer in a conversation, then everything else.
ANSWER, OTHER = 0, 1
#: Sent to the provider, answer lost (a timeout after the request went out): not sent again.
MAYBE_SENT = "maybe_sent"


class MessageKind(StrEnum):
    """What an outbound message is (its `kind` column): every enqueue names one."""

    NOTICE = "notice"  # the guardians' same-day notice of an absence without a report
    CORRECTION = "correction"  # roll call took a notified absence back
    CALL_PROMPT = "call_prompt"  # the mentor's prompt to call home (and its reminders)
    CALL_OFF = "call_off"  # a call prompted for is no longer needed
    GUARD = "guard"  # a burst of notices held: the coordinator's question
    ROLL_REMINDER = "roll_reminder"  # a class has no roll call yet
    TASK_NUDGE = "task_nudge"  # a plan task's due-day prompt or the day-before reminder
    LADDER = "ladder"  # a step of the plan reached: its tasks and news, a step left
    LETTER = "letter"  # a step's letter to the guardians
    MORNING = "morning"  # a return plan's morning check-in
    PLAN = "plan"  # news of a return plan (start, evaluation, the guardians' note)
    PLAN_ALERT = "plan_alert"  # the trusted adult is needed at once
    MEASURE = "measure"  # an action plan's measure is due
    ACTION_PLAN = "action_plan"  # an action plan's evaluation
    CONCERN = "concern"  # a worry raised, to the mentor
    MAPPING = "mapping"  # a cause mapping's questions and summary
    REPORT_NEWS = "report_news"  # a guardian cancelled today's report, to the mentor
    LATE_REPORT = "late_report"  # a report came too late: the mentor follows up
    NOTICE_ANSWER = "notice_answer"  # a guardian answered a notice, to the mentor
    UNREACHABLE = "unreachable"  # a guardian's texts do not arrive: the mentor calls
    HANDOVER = "handover"  # a task handed over to a colleague
    SUMMARY = "summary"  # the mentor's summary of the day
    DIGEST = "digest"  # a staff member's digest of open tasks
    OVERDUE = "overdue"  # an overdue task, to the principal
    REVIEW = "review"  # the monthly review
    WATCHLIST = "watchlist"  # the week's watchlist
    TERM_TOTAL = "term_total"  # the school days a child has missed this term, to guardians
    UNSETTLED = "unsettled"  # deliveries not settled, to the principal
    REPLY = "reply"  # an answer in a conversation
    KEYWORD = "keyword"  # the answer to STOP, START or HELP
    SIGN_IN = "sign_in"  # a sign-in link for the web
    APOLOGY = "apology"  # an inbound message could not be saved
    LEAVE = "leave"  # a leave application: to its decider, a question, an answer, a decision


def about(kind: MessageKind, *, student_id: int | None = None, day: date | None = None,
          task_id: int | None = None) -> dict[str, Any]:
    """The columns that say what a message is about, for `enqueue_many`'s dicts."""
    return {"kind": kind.value, "student_id": student_id, "day": day, "task_id": task_id}


def lease_now() -> datetime:
    """The instant leases are measured in: the real time, not the (shiftable) clock,
    because several processes compare them and each may run its clock from its own start."""
    return datetime.now(UTC)


def enqueue(
    session: Session, *, dedupe_key: str, kind: MessageKind, recipient_id: int | None,
    channel: str, language: str, text: str, now: datetime,
    choices: list[dict[str, str]] | None = None, not_before: datetime | None = None,
    address: str | None = None, attachment: dict[str, Any] | None = None,
    student_id: int | None = None, day: date | None = None, task_id: int | None = None,
) -> bool:
    """Add a message unless one with `dedupe_key` exists; True when it was added.

    Runs in the caller's transaction, so the message exists exactly when the
    decision that caused it is committed. A message to someone not in the
    roster has no `recipient_id` but an `address` on its channel. `kind`, and the
    student, school day and task it concerns, say what it is about (the dedupe key
    only keeps it from being queued twice).
    """
    return enqueue_row(
        session, dedupe_key=dedupe_key, kind=kind, recipient_id=recipient_id, channel=channel,
        language=language, text=text, now=now, choices=choices, not_before=not_before,
        address=address, attachment=attachment, student_id=student_id, day=day,
        task_id=task_id,
    ) is not None


def enqueue_many(session: Session, messages: list[dict[str, Any]], *, now: datetime) -> set[str]:
    """Add many messages at once (each a dict of `enqueue`'s fields, with `about(...)`'s
    among them); returns the dedupe keys that were new (the others existed already and are
    left as they are)."""
    if not messages:
        return set()
    if any(not message.get("kind") for message in messages):
        raise ValueError("every message names its kind (storage.outbox.about)")
    rows = [{
        "recipient_id": None, "address": None, "choices": None, "attachment": None,
        "student_id": None, "day": None, "task_id": None, "status": "pending",
        "attempts": 0, "priority": OTHER, "not_before": now, "created_at": now, **message,
    } for message in messages]
    statement = insert_new(OutboxMessage, session.get_bind().dialect.name,
                           ["dedupe_key"]).returning(col(OutboxMessage.dedupe_key))
    return set(session.scalars(statement, rows).all())


def enqueue_row(
    session: Session, *, dedupe_key: str, kind: MessageKind, recipient_id: int | None,
    channel: str, language: str, text: str, now: datetime,
    choices: list[dict[str, str]] | None = None, not_before: datetime | None = None,
    address: str | None = None, claim: str | None = None,
    attachment: dict[str, Any] | None = None,
    student_id: int | None = None, day: date | None = None, task_id: int | None = None,
) -> OutboxMessage | None:
    """Like `enqueue`, returning the new row (None if the dedupe key existed).

    With `claim` (a worker's name) the row is an answer in a conversation, enqueued
    already claimed (`sending`) by that worker, which sends it right after the commit: it
    does not wait for the dispatcher's next round. A crash before it is sent leaves it
    `sending`: the next start of that worker, or any worker once the lease ran out,
    sends it.
    """
    if recipient_id is None and address is None:
        raise ValueError("a message needs a recipient or an address")
    values: dict[str, Any] = {
        "dedupe_key": dedupe_key, "recipient_id": recipient_id, "address": address,
        "channel": channel, "language": language, "text": text, "choices": choices,
        "status": "sending" if claim else "pending", "attempts": 1 if claim else 0,
        "not_before": not_before or now, "created_at": now,
        "priority": ANSWER if claim else OTHER, "claimed_at": lease_now() if claim else None,
        "claimed_by": claim,
        "attachment": attachment,
        **about(kind, student_id=student_id, day=day, task_id=task_id),
    }
    return _insert(session, values)


def _insert(session: Session, values: dict[str, Any]) -> OutboxMessage | None:
    statement = _insert_row(session.get_bind().dialect.name)
    row_id = session.execute(statement, values).scalar()
    return None if row_id is None else OutboxMessage(id=row_id, **values)


@cache
def _insert_row(dialect: str) -> Any:
    # Built once: building an insert and its cache key costs more than running it.
    # On the table, not the model: the ORM's bulk-insert path costs more than the insert.
    table = table_of(OutboxMessage)
    return insert_new(table, dialect, ["dedupe_key"]).returning(table.c.id)


def claim_due(
    session: Session, *, now: datetime, limit: int = 50, worker: str | None = None,
    lease: timedelta = CLAIM_LEASE, exclude: Collection[int] = (),
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `worker` (status `sending`, a fresh lease) and
    return them, answers first, then by due time; never those in `exclude` (messages this
    worker put back because it cannot send them).

    A `sending` row whose lease ran out (its worker died) is due again. On PostgreSQL,
    rows are claimed with FOR UPDATE SKIP LOCKED so several workers never take the
    same message and never wait for each other.
    """
    leased = lease_now()
    query = (
        select(OutboxMessage.id)
        .where(or_(
            and_(col(OutboxMessage.status) == "pending", col(OutboxMessage.not_before) <= now),
            and_(col(OutboxMessage.status) == "sending",
                 or_(col(OutboxMessage.claimed_at).is_(None),
                     col(OutboxMessage.claimed_at) < leased - lease)),
        ))
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.not_before),
                  col(OutboxMessage.id))
        .limit(limit)
    )
    if exclude:
        query = query.where(col(OutboxMessage.id).not_in(list(exclude)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .values(status="sending", attempts=OutboxMessage.attempts + 1, claimed_at=leased,
                claimed_by=worker)
    )
    rows = session.execute(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.not_before),
                  col(OutboxMessage.id))
    ).scalars()
    return list(rows)


def _loaded(session: Session, ids: Iterable[int]) -> bool:
    """Whether one of these rows is in the session (an update must then change it there
    too, which only the ORM's slower statement does)."""
    return any(session.identity_key(OutboxMessage, row_id) in session.identity_map
               for row_id in ids)



def renew_claims(session: Session, *, worker: str) -> int:
    """Renew the lease of every message `worker` has claimed and not finished."""
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.claimed_by) == worker)
        .values(claimed_at=lease_now())
    )
    return result.rowcount


def mark_sent(
    session: Session, message_id: int, *, now: datetime, provider_ref: str | None,
    delivered: bool = False, channel: str | None = None,
) -> None:
    """Record that the channel accepted the message (or, for local channels, delivered it).

    `channel` records where a routed (`auto`) message actually went.
    """
    values: dict[str, Any] = {
        "status": "delivered" if delivered else "sent", "sent_at": now,
        "provider_ref": provider_ref, "delivered_at": now if delivered else None,
        "last_error": None,
    }
    if channel is not None:
        values["channel"] = channel
    if not _loaded(session, [message_id]):  # the common case (the dispatcher's own session)
        session.execute(_sent_statement(tuple(values)), {
            "row_id": message_id, **{f"new_{name}": value for name, value in values.items()}})
        return
    values["address"] = _address_kept()
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
                    .values(**values))


@cache
def _sent_statement(names: tuple[str, ...]) -> Any:
    # Built once per set of columns, on the table: the ORM's update of one row by id costs
    # several times more.
    table = table_of(OutboxMessage)
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in names}
    values["address"] = case((table.c.recipient_id.is_(None), None), else_=table.c.address)
    return update(table).where(table.c.id == bindparam("row_id")).values(**values)


def _address_kept() -> Any:
    # A sender not in the roster is answered at `address`; once the answer is out (or
    # given up) the number is no longer needed, so it is not kept.
    return case((col(OutboxMessage.recipient_id).is_(None), None), else_=OutboxMessage.address)


def withdraw(session: Session, message_id: int, *, now: datetime) -> None:
    """Do not send a claimed message after all: what it says is no longer true."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status="withdrawn", last_error="withdrawn before sending", not_before=now))


def mark_failed(
    session: Session, message: OutboxMessage, *, now: datetime, error: str,
    final: bool = False, retry_after: timedelta | None = None, channel: str | None = None,
    code: str | None = None, throttled: bool = False,
) -> None:
    """Retry later (after `retry_after`, else with backoff), or give up; `error` holds no PII.

    A message gives up after MAX_ATTEMPTS, or at once when `final`; `channel`
    records where a routed message was refused, `code` the provider's error code.
    `throttled`: the provider only asked us to slow down, which is no failed attempt.
    """
    attempts = message.attempts - 1 if throttled else message.attempts
    final = final or attempts >= MAX_ATTEMPTS
    delay = retry_after or RETRY_BASE * 2 ** max(0, message.attempts - 1)
    values: dict[str, Any] = {
        "status": "failed" if final else "pending", "not_before": now + delay,
        "last_error": error[:200], "attempts": max(0, attempts),
    }
    if code is not None:
        values["error_code"] = code[:16]
    if channel is not None:
        values["channel"] = channel
    if final:
        values["address"] = _address_kept()
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message.id)
                    .values(**values))


def mark_maybe_sent(session: Session, message: OutboxMessage, *, error: str,
                    channel: str | None = None) -> None:
    """The request went out but its answer was lost: the recipient may have the message.

    It is not sent again (a second notice to a parent is worse than a late one); it
    waits for an operator (`narvaro outbox list --status maybe_sent`).
    """
    values: dict[str, Any] = {"status": MAYBE_SENT, "last_error": error[:200]}
    if channel is not None:
        values["channel"] = channel
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message.id)
                    .values(**values))


def postpone(session: Session, ids: list[int], *, behind: int) -> None:
    """Put claimed messages back, due when message `behind` is due again (they follow it)."""
    due = select(OutboxMessage.not_before).where(OutboxMessage.id == behind).scalar_subquery()
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(
        status="pending", not_before=due, attempts=OutboxMessage.attempts - 1))


def unclaim(session: Session, ids: Collection[int]) -> None:
    """Put claimed messages back as they were before the claim (pending, due as before, the
    attempt not counted): the claiming worker cannot send them, another may."""
    if ids:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(list(ids))).values(
            status="pending", claimed_by=None, claimed_at=None,
            attempts=OutboxMessage.attempts - 1))


def release_claims(session: Session, *, worker: str | None) -> int:
    """Put the messages `worker` left `sending` back to pending: at the start of a worker of
    that name, the previous process of that name is gone (`None`: every worker's)."""
    query = update(OutboxMessage).where(col(OutboxMessage.status) == "sending")
    if worker is not None:
        query = query.where(col(OutboxMessage.claimed_by) == worker)
    result = session.exec(query.values(status="pending", claimed_by=None, claimed_at=None))
    return result.rowcount


def messages_for(
    session: Session, *, recipient_id: int, channel: str, after_id: int = 0, limit: int = 200
) -> list[OutboxMessage]:
    """Messages sent or due to a person on one channel, oldest first, after `after_id`."""
    rows = session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == recipient_id,
            OutboxMessage.channel == channel,
            col(OutboxMessage.id) > after_id,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).scalars()
    return list(rows)




def reroute(session: Session, message: OutboxMessage, *, channel: str, now: datetime) -> bool:
    """Queue a copy of a message that could not be delivered, for another channel."""
    if message.recipient_id is None:
        return False
    # The copy is about what the message was about; a rerouted answer is still an answer:
    # it goes before the notices waiting.
    return _insert(session, {
        "dedupe_key": f"{message.dedupe_key}:{channel}"[:200], "channel": channel,
        "recipient_id": message.recipient_id, "address": None, "language": message.language,
        "text": message.text, "choices": message.choices, "attachment": None,
        "status": "pending", "attempts": 0, "not_before": now, "created_at": now,
        "priority": message.priority, "claimed_at": None, "kind": message.kind,
        "student_id": message.student_id, "day": message.day, "task_id": message.task_id,
    }) is not None


def settle_maybe_sent(session: Session, message_id: int, *, arrived: bool,
                      now: datetime) -> bool:
    """A person's word on a `maybe_sent` message, after checking with the recipient or the
    provider: it arrived (sent), or it did not (pending again, sent at once). Audited.
    False when the message is not `maybe_sent`."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != MAYBE_SENT:
        return False
    if arrived:
        message.status, message.sent_at = "sent", message.sent_at or now
    else:
        message.status, message.not_before = "pending", now
        message.claimed_at = message.claimed_by = None
    session.add(message)
    session.add(AuditLog(at=now, actor="cli", action="outbox.settle", entity="outbox_message",
                         entity_id=str(message_id), detail={"arrived": arrived}))
    return True


#: A maybe-sent SMS is looked for at the provider from a minute before its claim (clocks
#: differ) and counts as one of ours when created at most this long after.
SEND_WINDOW = CLAIM_LEASE + timedelta(minutes=2)
#: Not found at the provider this long after its claim, an SMS was never taken (the
#: provider has sent, or refused, whatever it took by then): it is sent again.
NOT_TAKEN_AFTER = timedelta(minutes=10)


def maybe_sent_on(session: Session, *, channel: str,
                  limit: int = 100) -> list[tuple[OutboxMessage, str | None]]:
    """`maybe_sent` messages on `channel`, oldest first, with the address each went to
    (the recipient's phone, or the row's own address)."""
    rows = session.execute(
        select(OutboxMessage, Person.phone)
        .outerjoin(Person, col(Person.id) == OutboxMessage.recipient_id)
        .where(OutboxMessage.status == MAYBE_SENT, OutboxMessage.channel == channel)
        .order_by(col(OutboxMessage.id)).limit(limit)).all()
    return [(message, phone or message.address) for message, phone in rows]


def refs_in_use(session: Session, refs: Iterable[str]) -> set[str]:
    """Which of the provider refs are already some message's."""
    wanted = list(refs)
    if not wanted:
        return set()
    return set(session.execute(select(OutboxMessage.provider_ref).where(
        col(OutboxMessage.provider_ref).in_(wanted))).scalars())


def settle_by_provider(session: Session, message_id: int, *, ref: str | None,
                       now: datetime) -> bool:
    """The provider's word on a `maybe_sent` message: it has it (`ref`: sent, with that ref)
    or it never took it (None: pending again, sent at once). Audited as the system's.
    False when the message is no longer `maybe_sent` (settled meanwhile)."""
    values: dict[str, Any] = (
        {"status": "sent", "provider_ref": ref, "sent_at": now, "last_error": None}
        if ref is not None else
        {"status": "pending", "not_before": now, "claimed_at": None, "claimed_by": None})
    result = session.exec(update(OutboxMessage).where(
        col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == MAYBE_SENT)
        .values(**values))
    if not result.rowcount:
        return False
    session.add(AuditLog(at=now, actor="system", action="outbox.settle",
                         entity="outbox_message", entity_id=str(message_id),
                         detail={"arrived": ref is not None, "by": "provider"}))
    return True
