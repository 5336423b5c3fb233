"""The web chat's roster picker: staff first, then guardians by their child's class, then
students; and how many match in all, so the page can say it shows only the first ones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.demo import load_demo_if_empty
from policy.presets import load_policy
from storage.db import session_scope
from storage.people import count_people, search_people


def test_staff_first_then_guardians_by_class_then_students(engine: Engine) -> None:
    """The demo's 4 staff, 7A's guardians before 8B's, the students last; 50 of them shown,
    all counted."""
    with session_scope(engine) as session:
        load_demo_if_empty(session, policy=load_policy("ljusnarsberg"),
                           timezone="Europe/Stockholm", now=datetime(2026, 11, 23, tzinfo=UTC))
        found = search_people(session, "")
        total = count_people(session, "")
        groups = ["staff" if p.staff else "guardian" if p.children else
                  "student" if p.student_class is not None else "other" for p in found]
        classes = [p.child_classes[0] for p in found if p.children]
        assert len(found) == 50 and total > 50
        assert groups[:4] == ["staff"] * 4 and set(groups[4:]) == {"guardian"}
        assert classes == sorted(classes) and classes[0] == "7A"
        assert [p.name for p in found[:4]] == sorted(p.name for p in found[:4])
        sara = search_people(session, "Sara Larsen")
        assert sorted(p.student_class for p in sara if p.student_class) == ["7A", "8B"]
        assert count_people(session, "Sara Larsen") == len(sara)
