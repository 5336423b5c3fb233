"""Dialog state per person, in the database so a reply hours later (or after a restart) works."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import ConversationState


def get_state(session: Session, person_id: int) -> ConversationState | None:
    """The person's current dialog, if any."""
    return session.get(ConversationState, person_id)


def set_state(
    session: Session, person_id: int, *, dialog: str, step: str, data: dict[str, Any],
    now: datetime,
) -> None:
    """Start or move the person's dialog to `step` with `data`."""
    state = session.get(ConversationState, person_id)
    if state is None:
        state = ConversationState(person_id=person_id, dialog=dialog, step=step)
    state.dialog, state.step, state.data, state.updated_at = dialog, step, dict(data), now
    session.add(state)


def clear_state(session: Session, person_id: int) -> bool:
    """End the person's dialog; True if there was one."""
    state = session.get(ConversationState, person_id)
    if state is None:
        return False
    session.delete(state)
    session.flush()
    return True


def in_dialog(session: Session, person_id: int, dialog: str) -> bool:
    """Whether the person is in `dialog` now."""
    state = session.get(ConversationState, person_id)
    return state is not None and state.dialog == dialog
