"""The one-tap answers a plan's task carries, wherever it reaches its owner (its due-day
prompt, the day-before reminder of a booked meeting, a hand-over)."""

from __future__ import annotations

from locales import gettext_for
from policy.choices import (
    ChoiceKey,
    TaskBook,
    TaskDone,
    TaskHandover,
    TaskHeld,
    TaskNotNeeded,
    TaskReached,
    TaskTomorrow,
)
from storage.plan_tasks import PlanTask


def task_choices(origin: PlanTask, task_id: int, language: str) -> list[dict[str, str]]:
    """One-tap answers to a plan task: how it went, put off, handed over, not needed."""
    first: list[tuple[ChoiceKey, str]]
    if origin.rule.is_meeting:
        first = [(TaskHeld(task_id), gettext_for(language, "Meeting held")),
                 (TaskBook(task_id), gettext_for(language, "Meeting booked"))]
    elif origin.rule.kind == "call_home":
        first = [(TaskReached(task_id), gettext_for(language, "Reached guardian"))]
    else:
        first = [(TaskDone(task_id), gettext_for(language, "Done"))]
    return [{"key": key.pack(), "label": label} for key, label in [
        *first,
        (TaskTomorrow(task_id), gettext_for(language, "Remind me tomorrow")),
        (TaskHandover(task_id), gettext_for(language, "Hand over")),
        (TaskNotNeeded(task_id), gettext_for(language, "Not needed")),
    ]]
