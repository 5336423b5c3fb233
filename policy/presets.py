"""Policy presets: one per school plan in the seeds, as data.

A preset names the plan a school follows. This module holds what every part
needs to know about a plan (country, language, report deadline); the
escalation ladders are added to the same presets as they are built.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class PolicyPreset:
    """A school plan: where it applies and its basic rules."""

    name: str
    title: str
    country: str
    language: str
    report_deadline_school_days: int = 3


PRESETS: dict[str, PolicyPreset] = {
    preset.name: preset
    for preset in (
        PolicyPreset("ljusnarsberg", "Ljusnarsbergs kommun (SE)", "SE", "sv"),
        PolicyPreset("bengtsfors", "Bengtsfors gymnasium (SE)", "SE", "sv"),
        PolicyPreset("norway-example", "Eksempel på handlingsplan (NO)", "NO", "nb"),
        PolicyPreset("denmark", "Dansk vejledning: ressourceteam (DK)", "DK", "da"),
        PolicyPreset("lyngen", "Lyngen kommune (NO)", "NO", "nb"),
    )
}


def load_policy(name_or_path: str) -> PolicyPreset:
    """The preset called `name_or_path`, or the policy read from that TOML file.

    A policy file names a preset to start from (`base = "lyngen"`) and overrides
    any of its fields.
    """
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    data = tomllib.loads(Path(name_or_path).read_text(encoding="utf-8"))
    base_name = str(data.pop("base", "ljusnarsberg"))
    if base_name not in PRESETS:
        raise ValueError(f"base {base_name!r} is not a preset ({', '.join(sorted(PRESETS))})")
    base = PRESETS[base_name]
    known = {"name", "title", "country", "language", "report_deadline_school_days"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
    return replace(base, **data)
