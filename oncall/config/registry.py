"""Sections of the config file. Each app registers the top-level keys it owns.

A section's ``apply`` gets the raw YAML value under its key and an ``ApplyContext``;
it validates, creates/updates rows, and reports every change through the context.
The whole file is applied in one transaction; ``--dry-run`` rolls it back after the
plan is recorded, and any ``ctx.fail(...)`` rolls everything back. Everything the file
changes takes effect at one instant, ``ctx.effective_at``: sections pass it to every
write that is versioned by time (layer versions, calendar links, holidays).
``export`` returns the same shape ``apply`` accepts (round trip).

How to add a section: see README.md in this folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from django.utils import timezone


class ConfigError(Exception):
    """A problem in the file: names the file, the path inside it and the problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem


SYMBOLS = {"create": "+", "update": "~", "delete": "-", "missing": "?"}


@dataclass
class Change:
    action: str  # "create" | "update" | "delete" | "missing"
    path: str  # e.g. "engineers[alice]"
    detail: str = ""

    def __str__(self) -> str:
        symbol = SYMBOLS[self.action]
        return f"{symbol} {self.path}" + (f": {self.detail}" if self.detail else "")


@dataclass
class ApplyContext:
    file: str
    prune: bool = False
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    # Identities each section declared in this file, e.g. {"teams": {"platform": "teams[0]"}}.
    # Later sections check references against it (a schedule naming an engineer, ...).
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    # The one instant the whole apply takes effect at (the apply's start, or --effective),
    # so that history never shows a state halfway through the file.
    effective_at: datetime = field(default_factory=timezone.now)
    # Layer edits take effect at each layer's next handoff (``--effective next-handoff``)
    # instead of now.
    next_handoff: bool = False

    def fail(self, path: str, problem: str) -> NoReturn:
        raise ConfigError(self.file, path, problem)

    def record(self, action: str, path: str, detail: str = "") -> None:
        self.changes.append(Change(action, path, detail))

    def declare(self, kind: str, key: str, path: str) -> None:
        """Note that the file defines ``kind`` ``key`` at ``path``; a second definition fails."""
        seen = self.declared.setdefault(kind, {})
        if key in seen:
            self.fail(path, f"duplicate: {key!r} is already defined at {seen[key]}")
        seen[key] = path

    def is_declared(self, kind: str, key: str) -> bool | None:
        """True/False when the file has a ``kind`` section; None when it has none."""
        if kind not in self.declared:
            return None
        return key in self.declared[kind]

    # ``delete`` takes no arguments (`...`: see ``service_call``).
    def not_in_file(self, path: str, delete: Callable[..., object], detail: str = "") -> None:
        """A row exists that the file does not mention: delete it with --prune, else report."""
        if self.prune:
            delete()
            self.record("delete", path, detail)
        else:
            self.record("missing", path, detail)


@dataclass(frozen=True)
class ConfigSection:
    key: str  # the top-level YAML key
    # apply order, lowest first: teams 10, engineers 20, holiday calendars 30, schedules 40,
    # priorities 50, escalation policies 60, services 70
    order: int
    apply: Callable[[Any, ApplyContext], None]
    export: Callable[[], Any]


SECTIONS: dict[str, ConfigSection] = {}


def register_section(section: ConfigSection) -> ConfigSection:
    SECTIONS[section.key] = section
    return section


def sections_in_order() -> list[ConfigSection]:
    return sorted(SECTIONS.values(), key=lambda s: s.order)
