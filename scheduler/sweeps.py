"""Time-driven jobs as sweeps: each does what is due as of `now`, and is safe to repeat.

A sweep takes a session and the current instant and returns how many things it
did. The registry `SWEEPS` is what `narvaro tick` and the running scheduler call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, Engine, delete
from sqlmodel import Session, col

from scheduler.action_plans import evaluate_action_plans, remind_measures
from scheduler.calls import remind_snoozed_calls
from scheduler.corrections import send_notice_corrections
from scheduler.deliveries import tell_unsettled_deliveries
from scheduler.digest import escalate_overdue_tasks, send_staff_digests
from scheduler.ladder import advance_ladders
from scheduler.leave import escalate_leave_applications
from scheduler.morning import (
    alert_silent_check_ins,
    evaluate_return_plans,
    send_morning_messages,
)
from scheduler.notices import send_absence_notices
from scheduler.review import send_monthly_reviews
from scheduler.roll_reminders import remind_missing_roll_calls
from scheduler.summaries import send_mentor_summaries
from scheduler.task_nudges import nudge_due_tasks
from scheduler.term_total import tell_term_totals
from scheduler.watchlist import send_watchlists
from storage.db import session_scope
from storage.inbound import forget_seen
from storage.locks import try_transaction_lock
from storage.models import ConversationState
from storage.privacy import purge_message_texts, purge_notes

Sweep = Callable[[Session, datetime], int]
#: A dialog left this long is forgotten: it may hold a half-given reason.
CONVERSATION_TTL = timedelta(days=7)


def forget_stale_conversations(session: Session, now: datetime) -> int:
    """Delete dialog state untouched for CONVERSATION_TTL (data minimisation)."""
    result = session.execute(
        delete(ConversationState).where(
            col(ConversationState.updated_at) < now - CONVERSATION_TTL
        )
    )
    return result.rowcount if isinstance(result, CursorResult) else 0


def forget_old_inbound_ids(session: Session, now: datetime) -> int:
    """Forget which inbound messages were handled once no provider would resend them."""
    return forget_seen(session, now=now)


SWEEPS: dict[str, Sweep] = {
    "send_mentor_summaries": send_mentor_summaries,
    "send_absence_notices": send_absence_notices,
    "send_notice_corrections": send_notice_corrections,
    "advance_ladders": advance_ladders,
    "tell_term_totals": tell_term_totals,
    "send_morning_messages": send_morning_messages,
    "alert_silent_check_ins": alert_silent_check_ins,
    "evaluate_return_plans": evaluate_return_plans,
    "remind_measures": remind_measures,
    "evaluate_action_plans": evaluate_action_plans,
    "nudge_due_tasks": nudge_due_tasks,
    "send_staff_digests": send_staff_digests,
    "send_watchlists": send_watchlists,
    "send_monthly_reviews": send_monthly_reviews,
    # before the overdue tasks: an application moved on is no overdue task of the mentor's
    "escalate_leave_applications": escalate_leave_applications,
    "escalate_overdue_tasks": escalate_overdue_tasks,
    "remind_snoozed_calls": remind_snoozed_calls,
    "remind_missing_roll_calls": remind_missing_roll_calls,
    "forget_stale_conversations": forget_stale_conversations,
    "forget_old_inbound_ids": forget_old_inbound_ids,
    "purge_report_notes": purge_notes,
    "purge_message_texts": purge_message_texts,
    "tell_unsettled_deliveries": tell_unsettled_deliveries,
}


def run_sweeps(engine: Engine, now: datetime) -> dict[str, int]:
    """Run every sweep once as of `now`, each in its own transaction.

    With several workers on PostgreSQL, each sweep runs in one of them at a time (an
    advisory lock for its transaction): the others skip it this round. A sweep a worker
    runs right after another is harmless, as every sweep is.
    """
    done = {}
    for name, sweep in SWEEPS.items():
        with session_scope(engine) as session:
            if try_transaction_lock(session, f"sweep:{name}"):
                done[name] = sweep(session, now)
    return done
