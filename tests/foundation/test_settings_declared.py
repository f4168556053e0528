"""Every setting is declared once, in oncall/settings.py, from the environment with its
default; code reads ``settings.X`` (no ``getattr(settings, "X", default)`` restating a
default), and the README's tables name every variable."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("oncall", "paging", "schedules", "analytics")
ENV_READERS = {"env_str", "env_int", "env_bool", "env_list", "env_url", "env_int_map", "env_hours"}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def _is_settings(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "settings"


def test_code_reads_no_setting_with_a_default_of_its_own() -> None:
    # getattr(settings, "X", default) restates (or contradicts) the declared default;
    # getattr(settings, "X") is settings.X. Only a name held in a variable may be looked up.
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
        and node.args
        and _is_settings(node.args[0])
        and (len(node.args) > 2 or isinstance(node.args[1], ast.Constant))
    ]
    assert found == []


def test_every_setting_the_code_reads_is_declared() -> None:
    read = {
        (node.attr, f"{path.relative_to(ROOT)}:{node.lineno}")
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and _is_settings(node.value)
        and node.attr.isupper()
        and isinstance(node.ctx, ast.Load)
    }
    assert len(read) > 50
    assert [(name, where) for name, where in sorted(read) if not hasattr(settings, name)] == []


def _environment_variables() -> set[str]:
    tree = ast.parse((ROOT / "oncall" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ENV_READERS
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_the_readme_tables_name_every_variable() -> None:
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    named = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    variables = _environment_variables()
    assert {"SECRET_KEY", "PUBLIC_BASE_URL", "PAGING_THROTTLE_LIMITS"} <= variables
    assert sorted(variables - named) == []
