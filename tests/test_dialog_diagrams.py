"""Each dialog has its Mermaid diagram beside it (`handlers/<module>.mmd`), and the diagrams
keep up with the code: the dialog's name and every step it stores are drawn, and the
router's diagram names every route's handler."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from handlers.routes import ROUTES

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
#: Steps stored from a variable, and the module constants that variable takes.
VARIABLE_STEPS = {
    "leave": ("CHILD", "DAYS", "WHY"),
    "plan_settings": ("TIME", "ANSWER_BY", "GOAL", "OWN_TEXT"),
    "report_dialog": ("CHILD", "DAYS", "EARLIER", "TIMES", "REASON", "NOTE"),
}
#: Conversations without a dialog state that are drawn all the same.
STATELESS = ("cause_mapping", "return_plan", "linking", "routes")


def _stored(module_name: str) -> tuple[set[str], set[str]]:
    """The dialog names and the steps a module's `set_state` calls store."""
    module = importlib.import_module(f"handlers.{module_name}")
    tree = ast.parse((HANDLERS / f"{module_name}.py").read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {"dialog": set(), "step": set()}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "set_state"):
            continue
        for keyword in node.keywords:
            if keyword.arg not in found:
                continue
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[keyword.arg].add(value.value)
            elif isinstance(value, ast.Name) and isinstance(getattr(module, value.id, None),
                                                            str):
                found[keyword.arg].add(getattr(module, value.id))
            elif keyword.arg == "step":
                found["step"] |= {getattr(module, name)
                                  for name in VARIABLE_STEPS[module_name]}
            else:
                raise AssertionError(f"{module_name}: a dialog name the test cannot read")
    dialog = getattr(module, "DIALOG", None)
    if isinstance(dialog, str):
        found["dialog"].add(dialog)
    return found["dialog"], found["step"]


DIALOG_MODULES = sorted(
    path.stem for path in HANDLERS.glob("*.py")
    if "set_state(" in path.read_text(encoding="utf-8")
    or re.search(r"^DIALOG\b", path.read_text(encoding="utf-8"), re.MULTILINE))


def test_the_dialogs_are_found() -> None:
    assert {"action_plan", "concern", "language", "meeting_booking", "my_reports",
            "notice_answer", "plan_settings", "report_dialog", "roll_call",
            "worry"} <= set(DIALOG_MODULES)


@pytest.mark.parametrize("module_name", DIALOG_MODULES)
def test_a_dialog_draws_its_name_and_every_step_it_stores(module_name: str) -> None:
    diagram = HANDLERS / f"{module_name}.mmd"
    assert diagram.exists(), f"handlers/{module_name}.py keeps a dialog state: draw it"
    text = diagram.read_text(encoding="utf-8")
    assert "stateDiagram-v2" in text
    dialogs, steps = _stored(module_name)
    assert dialogs, module_name
    for dialog in dialogs:
        assert f'"{dialog}"' in text, f"{diagram.name} does not name the dialog {dialog!r}"
    for step in steps:
        assert re.search(rf"(?<![\w-]){re.escape(step)}(?![\w-])", text), (
            f"{diagram.name} does not draw the step {step!r}")


@pytest.mark.parametrize("module_name", STATELESS)
def test_the_stateless_conversations_are_drawn(module_name: str) -> None:
    assert (HANDLERS / f"{module_name}.mmd").read_text(encoding="utf-8").strip()


def test_the_router_diagram_names_every_route_handler() -> None:
    text = (HANDLERS / "routes.mmd").read_text(encoding="utf-8")
    for route in ROUTES:
        name = f"{route.handler.__module__.removeprefix('handlers.')}.{route.handler.__name__}"
        assert f'"{name}"' in text, f"routes.mmd does not draw {name}"
