"""A cause mapping's seven areas as the mentor, the summary and the case log name them."""

from __future__ import annotations

from locales import N_

AREA_LABELS = {
    "school_hard": N_("Something at school feels hard"),
    "behind": N_("Far behind in schoolwork"),
    "other_activity": N_("Chooses other activities"),
    "belonging": N_("Difficulties with belonging and friends"),
    "mental": N_("Mental difficulties"),
    "physical": N_("Physical difficulty or illness"),
    "home": N_("Problems at home"),
}
