"""Dialog state per person, in the database so a reply hours later (or after a restart) works."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from storage.models import ConversationState

#: `Session.info` key: the people this session has found without a dialog. A row that is
#: there is remembered by the session itself; one that is not would be read again each time.
_NONE = "narvaro.no_dialog"


@event.listens_for(Session, "transient_to_pending")
def _dialog_added(session: Session, instance: object) -> None:
    if isinstance(instance, ConversationState):
        session.info.get(_NONE, set()).discard(instance.person_id)


def get_state(session: Session, person_id: int) -> ConversationState | None:
    """The person's current dialog, if any (read once per session when there is none)."""
    known_none: set[int] = session.info.setdefault(_NONE, set())
    if person_id in known_none:
        return None
    state = session.get(ConversationState, person_id)
    if state is None:
        known_none.add(person_id)
    return state


def note_state(session: Session, person_id: int, state: ConversationState | None) -> None:
    """Remember the person's dialog as read with them by another query (`state`, now in the
    session, or None: no dialog), so `get_state` need not read it again."""
    if state is None:
        session.info.setdefault(_NONE, set()).add(person_id)


def set_state(
    session: Session, person_id: int, *, dialog: str, step: str, data: dict[str, Any],
    now: datetime,
) -> None:
    """Start or move the person's dialog to `step` with `data`."""
    state = get_state(session, person_id)
    if state is None:
        state = ConversationState(person_id=person_id, dialog=dialog, step=step)
    state.dialog, state.step, state.data, state.updated_at = dialog, step, dict(data), now
    session.add(state)


def clear_state(session: Session, person_id: int) -> bool:
    """End the person's dialog; True if there was one."""
    state = get_state(session, person_id)
    if state is None:
        return False
    session.delete(state)
    session.flush()
    session.info.setdefault(_NONE, set()).add(person_id)
    return True


def in_dialog(session: Session, person_id: int, dialog: str) -> bool:
    """Whether the person is in `dialog` now."""
    state = get_state(session, person_id)
    return state is not None and state.dialog == dialog
