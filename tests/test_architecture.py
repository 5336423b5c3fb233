"""The layers of ARCHITECTURE.md hold: no module imports a layer above its own.

Every import in every module is read from its syntax tree (those inside functions and
under `TYPE_CHECKING` too), so a lazy import cannot slip a dependency past the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("bot", "handlers", "scheduler", "connectors", "services", "policy", "storage", "locales")
#: What each package may import of ours (its own modules always). `bot` may import all.
ALLOWED: dict[str, frozenset[str]] = {
    "bot": frozenset(OURS),
    "handlers": frozenset({"services", "policy", "storage", "locales"}),
    "scheduler": frozenset({"services", "policy", "storage", "locales"}),
    "connectors": frozenset({"services", "policy", "storage", "locales"}),
    "services": frozenset({"policy", "storage", "locales"}),
    "storage": frozenset({"policy"}),
    "policy": frozenset(),
    "locales": frozenset(),
}
#: The command line is a caller like the sweeps: it reaches chats' actions through services.
CLI_FORBIDDEN = frozenset({"handlers"})


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of ours that the module at `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in OURS)
    return found


def upward_imports(package: str, root: Path = ROOT) -> list[str]:
    """Each `module: package` import of `package` that goes against the layers."""
    problems = []
    for path in sorted((root / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts import storage.models by design
        module = path.relative_to(root).as_posix()
        forbidden = set(OURS) - ALLOWED[package] - {package}
        if package == "bot" and path.name.startswith("cli"):
            forbidden |= CLI_FORBIDDEN
        problems += [f"{module}: {name}" for name in sorted(imported_packages(path) & forbidden)]
    return problems


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_module_imports_a_layer_above_its_own(package: str) -> None:
    assert upward_imports(package) == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    # A sweep that reaches into a chat dialog, lazily inside a function, and a CLI
    # command that does the same at the top: both are named.
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "sweep.py").write_text(
        "def sweep():\n    from handlers.review import review_text\n    return review_text\n")
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "cli_thing.py").write_text("import handlers.menu\nimport scheduler\n")
    (tmp_path / "bot" / "web.py").write_text("from handlers import inbox\n")
    assert upward_imports("scheduler", tmp_path) == ["scheduler/sweep.py: handlers"]
    assert upward_imports("bot", tmp_path) == ["bot/cli_thing.py: handlers"]


def test_every_package_of_ours_has_a_rule() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks"} == set(ALLOWED)
