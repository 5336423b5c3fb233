"""The one-tap answers a plan's task carries, wherever it reaches its owner (its due-day
prompt, the day-before reminder of a booked meeting, a hand-over)."""

from __future__ import annotations

from locales import gettext_for
from storage.plan_tasks import PlanTask
from storage.tasks import (
    TASK_BOOK,
    TASK_DONE,
    TASK_HANDOVER,
    TASK_HELD,
    TASK_NOT_NEEDED,
    TASK_REACHED,
    TASK_TOMORROW,
)


def task_choices(origin: PlanTask, task_id: int, language: str) -> list[dict[str, str]]:
    """One-tap answers to a plan task: how it went, put off, handed over, not needed."""
    if origin.rule.is_meeting:
        first = [{"key": f"{TASK_HELD}{task_id}", "label": gettext_for(language, "Meeting held")},
                 {"key": f"{TASK_BOOK}{task_id}",
                  "label": gettext_for(language, "Meeting booked")}]
    elif origin.rule.kind == "call_home":
        first = [{"key": f"{TASK_REACHED}{task_id}",
                  "label": gettext_for(language, "Reached guardian")}]
    else:
        first = [{"key": f"{TASK_DONE}{task_id}", "label": gettext_for(language, "Done")}]
    return [
        *first,
        {"key": f"{TASK_TOMORROW}{task_id}", "label": gettext_for(language, "Remind me tomorrow")},
        {"key": f"{TASK_HANDOVER}{task_id}", "label": gettext_for(language, "Hand over")},
        {"key": f"{TASK_NOT_NEEDED}{task_id}", "label": gettext_for(language, "Not needed")},
    ]
