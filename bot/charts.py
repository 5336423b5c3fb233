"""Pictures for a phone: a chart described as data (titles and labelled series, already in
the reader's language) drawn as a PNG with matplotlib. The description is what the outbox
stores; the picture is drawn when the message is sent.

A description: {"title": str, "panels": [{"title": str, "labels": [str], "series":
[{"name": str, "values": [float]}], "unit": str, "max": float | None}], "footer": [str]}.
Several series in a panel are stacked.

`timeline_png` draws a student's term for the web overview: a row per kind of event.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen: draw to memory only

from matplotlib import pyplot
from matplotlib.figure import Figure

#: A phone screen in portrait: 1080 pixels wide.
WIDTH_INCHES, DPI = 7.5, 144
COLOURS = ("#3b6ea8", "#d9822b", "#6a9f58", "#b0413e")


def render_png(spec: dict[str, Any]) -> bytes:
    """The chart `spec` describes, as PNG bytes."""
    panels = list(spec.get("panels", []))
    footer = [str(line) for line in spec.get("footer", [])]
    heights = [0.38 * len(panel.get("labels", [])) + 1.1 for panel in panels]
    if footer:
        heights.append(0.32 * len(footer) + 0.2)
    figure: Figure = pyplot.figure(figsize=(WIDTH_INCHES, sum(heights) + 0.8), dpi=DPI,
                                   layout="constrained")
    try:
        figure.suptitle(str(spec.get("title", "")), fontsize=15, fontweight="bold",
                        x=0.02, ha="left")
        grid = figure.add_gridspec(len(heights) or 1, 1, height_ratios=heights or [1])
        for index, panel in enumerate(panels):
            _panel(figure.add_subplot(grid[index]), panel)
        if footer:
            notes = figure.add_subplot(grid[len(panels)])
            notes.axis("off")
            notes.text(0, 1, "\n".join(footer), va="top", fontsize=11, linespacing=1.6)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        pyplot.close(figure)


def _panel(axes: Any, panel: dict[str, Any]) -> None:
    labels = [str(label) for label in panel.get("labels", [])]
    series = list(panel.get("series", []))
    unit = str(panel.get("unit", ""))
    positions = list(range(len(labels)))
    left = [0.0] * len(labels)
    for number, one in enumerate(series):
        values = [float(v) for v in one.get("values", [])]
        axes.barh(positions, values, left=left, color=COLOURS[number % len(COLOURS)],
                  label=str(one.get("name", "")) or None, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for position, total in zip(positions, left, strict=True):
        axes.text(total, position, f" {total:g}{unit}", va="center", fontsize=10)
    axes.set_yticks(positions, labels, fontsize=11)
    axes.invert_yaxis()
    axes.set_title(str(panel.get("title", "")), loc="left", fontsize=12)
    top = panel.get("max")
    axes.set_xlim(0, float(top) if top else max([*left, 1.0]) * 1.25)
    axes.spines[["top", "right"]].set_visible(False)
    if len(series) > 1:
        axes.legend(loc="lower right", fontsize=9, frameon=False)


#: One colour per row of a timeline (absent unexcused, reported, granted leave, late,
#: notice, call, meeting, plan day), distinct also for the common colour blindnesses.
TIMELINE_COLOURS = ("#b0413e", "#d9822b", "#8c8c8c", "#e3b505", "#3b6ea8", "#6a9f58",
                    "#7b4fa0", "#2a9d8f")


def timeline_png(title: str, rows: list[tuple[str, list[date]]], first: date,
                 last: date) -> bytes:
    """A term as a picture: one row per kind of event (its label already in the reader's
    language), a mark on each day it happened, days from `first` to `last` across."""
    figure: Figure = pyplot.figure(figsize=(WIDTH_INCHES * 1.4, 0.45 * len(rows) + 1.4),
                                   dpi=DPI / 1.5, layout="constrained")
    try:
        axes = figure.add_subplot()
        axes.set_title(title, loc="left", fontsize=13, fontweight="bold")
        span = max((last - first).days, 1)
        for index, (_label, days) in enumerate(rows):
            axes.scatter([(day - first).days for day in days], [index] * len(days),
                         marker="s", s=48, color=TIMELINE_COLOURS[index % len(TIMELINE_COLOURS)])
        axes.set_yticks(range(len(rows)), [label for label, _days in rows], fontsize=11)
        axes.set_ylim(len(rows) - 0.5, -0.5)
        axes.set_xlim(-1, span + 1)
        step = 7 if span <= 70 else 14
        ticks = list(range(0, span + 1, step))
        axes.set_xticks(ticks, [f"{first + timedelta(days=t):%d.%m}" for t in ticks],
                        fontsize=9)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.spines[["top", "right"]].set_visible(False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        pyplot.close(figure)
