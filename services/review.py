"""The monthly review in words and as a chart description, in the reader's language: the
text goes by any channel; the chart (bot.charts draws it) goes as a picture on Telegram."""

from __future__ import annotations

from typing import Any

from babel.dates import format_skeleton

from locales import gettext_for, normalize_language
from policy.review import Review

#: How many classes the picture shows (a phone screen's worth); the text names three.
MOST = 12


def review_chart(review: Review, school: str, language: str, *,
                 by_school: bool = False) -> dict[str, Any]:
    """The chart of the month: absence by class (a municipality's: by school) and by week
    (reported and unexcused stacked), students per step, the tasks and return plans
    below."""
    reported, unexcused = (gettext_for(language, "Reported"),
                           gettext_for(language, "Unexcused"))

    leave = gettext_for(language, "Granted leave")

    def stacked(title: str, shares: dict[str, Any]) -> dict[str, Any]:
        series = [{"name": reported, "values": [s.reported for s in shares.values()]},
                  {"name": unexcused, "values": [s.unexcused for s in shares.values()]}]
        if any(s.leave for s in shares.values()):  # apart, and only when there is some
            series.append({"name": leave, "values": [s.leave for s in shares.values()]})
        return {"title": title, "labels": list(shares), "unit": " %", "series": series}

    worst = dict(sorted(review.by_class.items(), key=lambda item: -item[1].total)[:MOST])
    heading = (gettext_for(language, "The schools with most absence") if by_school
               else gettext_for(language, "The classes with most absence"))
    panels = [stacked(heading, worst),
              stacked(gettext_for(language, "Absence by week"), review.by_week)]
    if review.steps:
        panels.append({"title": gettext_for(language, "Students per step of the plan"),
                       "labels": list(review.steps), "unit": "",
                       "series": [{"name": "", "values": list(review.steps.values())}]})
    return {"title": f"{school}: {_month(review, language)}", "panels": panels,
            "footer": _footer(review, language)}


def review_text(review: Review, school: str, language: str) -> str:
    """The review in a few lines, for SMS and as the picture's caption."""
    worst = sorted(review.by_class.items(), key=lambda item: -item[1].total)[:3]
    lines = [gettext_for(language, "Monthly review, {school}: {month}", school=school,
                         month=_month(review, language))]
    if worst:
        lines.append(gettext_for(language, "Most absence: {classes}", classes=", ".join(
            f"{name} {share.total:g} %" for name, share in worst)))
    on_leave = [(name, share.leave) for name, share in review.by_class.items() if share.leave]
    if on_leave:
        lines.append(gettext_for(language, "Granted leave (not in the figures above): "
                                           "{classes}", classes=", ".join(
            f"{name} {leave:g} %" for name, leave in on_leave)))
    steps = ", ".join(f"{step}: {count}" for step, count in review.steps.items())
    lines.append(gettext_for(language, "On a step of the plan: {steps}", steps=steps)
                 if steps else gettext_for(language, "No student is on a step of the plan."))
    if review.default_year:
        lines.append(gettext_for(
            language,
            # Translators: the school has not imported its terms; counts use a standard year.
            "No terms imported yet: the figures use the country's usual school year."))
    return "\n".join(lines + _footer(review, language))


def _footer(review: Review, language: str) -> list[str]:
    return [gettext_for(language, "Tasks: {on_time} done on time, {late} late, {overdue} "
                                  "overdue.", on_time=review.tasks_on_time,
                        late=review.tasks_late, overdue=review.tasks_open_overdue),
            gettext_for(language, "Return plans: {count}; morning check-ins answered: "
                                  "{answered} %", count=review.plans_started,
                        answered=f"{review.plans_answered:g}")]


def _month(review: Review, language: str) -> str:
    return format_skeleton("yMMMM", review.first, locale=normalize_language(language))
