"""Rules of the code's shape that a reader would otherwise have to remember.

The layers themselves are import-linter contracts (`[tool.importlinter]` in pyproject.toml,
run by `make test` as `lint-imports`); these are the rules it cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "threshold"


def _modules() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts]


def _imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names]


def test_nothing_imports_allauths_internals() -> None:
    """allauth is reached through its adapters, settings, signals, forms and models only."""
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported_names(node):
                    parts = name.split(".")
                    if parts[0] == "allauth" and "internal" in parts:
                        offenders.append(f"{path.relative_to(SRC)}:{node.lineno} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_an_internal_import() -> None:
    tree = ast.parse("def f():\n    from allauth.usersessions.internal import usersessionkit\n")
    names = [n for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for n in _imported_names(node)]
    assert names == ["allauth.usersessions.internal"]


REASONS = ("Imported here", "reason:", "app loading")


def _unexplained_function_level_imports(source: str) -> list[int]:
    """Line numbers of imports inside functions with no comment saying why ("Imported here: …",
    "reason: …" or "app loading"), above them in the function or on their own lines."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                stretch = lines[node.lineno : (inner.end_lineno or inner.lineno)]
                comments = [line[line.index("#") :] for line in stretch if "#" in line]
                if not any(word in c for c in comments for word in REASONS):
                    found.append(inner.lineno)
    return found


def test_a_function_level_import_says_why() -> None:
    """Imports belong at the top of a module; one inside a function says why (app loading, an
    optional dependency), never to dodge a cycle: the layers contract would catch that instead."""
    offenders = []
    for path in _modules():
        for line in _unexplained_function_level_imports(path.read_text()):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert not offenders, "function-level imports without a reason:\n" + "\n".join(offenders)


def test_the_check_finds_an_unexplained_import() -> None:
    source = (
        "def f():\n    # A comment that gives no reason.\n    from os import path\n\n\n"
        "def g():\n    # Imported here: app loading.\n    from os import sep\n"
    )
    assert _unexplained_function_level_imports(source) == [3]
