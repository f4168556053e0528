"""Sections of the config file. Each app registers the top-level keys it owns.

A section's ``apply`` gets the raw YAML value under its key and an ``ApplyContext``;
it validates, creates/updates rows, and reports every change through the context.
The whole file is applied in one transaction; ``--dry-run`` rolls it back after the
plan is recorded, and any ``ctx.fail(...)`` rolls everything back.
``export`` returns the same shape ``apply`` accepts (round trip).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """A problem in the file: names the file, the path inside it and the problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem


@dataclass
class Change:
    action: str  # "create" | "update" | "delete" | "missing"
    path: str  # e.g. "engineers[alice]"
    detail: str = ""

    def __str__(self) -> str:
        symbol = {"create": "+", "update": "~", "delete": "-", "missing": "?"}[self.action]
        return f"{symbol} {self.path}" + (f": {self.detail}" if self.detail else "")


@dataclass
class ApplyContext:
    file: str
    prune: bool = False
    changes: list[Change] = field(default_factory=list)

    def fail(self, path: str, problem: str) -> None:
        raise ConfigError(self.file, path, problem)

    def record(self, action: str, path: str, detail: str = "") -> None:
        self.changes.append(Change(action, path, detail))


@dataclass(frozen=True)
class ConfigSection:
    key: str  # the top-level YAML key
    order: int  # apply order, lowest first: teams 10, engineers 20, schedules 40, policies 60
    apply: Callable[[Any, ApplyContext], None]
    export: Callable[[], Any]


SECTIONS: dict[str, ConfigSection] = {}


def register_section(section: ConfigSection) -> ConfigSection:
    SECTIONS[section.key] = section
    return section


def sections_in_order() -> list[ConfigSection]:
    return sorted(SECTIONS.values(), key=lambda s: s.order)
