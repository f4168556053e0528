"""Priority levels as the rest of the code reads them, and how a priority is written.

A priority is a number, 1 (P1, the most urgent) to 5. People write it as ``P1``, ``1``
or the level's display name (``SEV1``), in any case; ``priority_parse`` reads all of
them and refuses a level that is not configured (with the list of those that are).

Levels come from ``PriorityLevel`` rows; with no rows at all, ``DEFAULT_LEVELS`` apply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from paging.models import PriorityLevel
from paging.models.priorities import PRIORITY_MAX, PRIORITY_MIN

_CODE = re.compile(r"^[Pp]([0-9])$")


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    ack_within_minutes: int | None
    resolve_within_minutes: int | None
    description: str = ""
    # False for the built-in defaults (no PriorityLevel rows).
    configured: bool = True

    @property
    def code(self) -> str:
        return f"P{self.level}"

    @property
    def label(self) -> str:
        """``P1 (SEV1)``, or ``P1`` when the name says no more."""
        return self.code if self.name.upper() == self.code else f"{self.code} ({self.name})"


# Used while no level is configured: response (ack) and resolution targets in minutes.
DEFAULT_LEVELS: tuple[Level, ...] = (
    Level(1, "P1", 5, 60, "Critical: customers cannot use the product", configured=False),
    Level(2, "P2", 15, 4 * 60, "High: a major function is degraded", configured=False),
    Level(3, "P3", 60, 24 * 60, "Moderate: a minor function or a few customers", configured=False),
    Level(4, "P4", 4 * 60, 3 * 24 * 60, "Low: no customer impact yet", configured=False),
    Level(5, "P5", 24 * 60, 7 * 24 * 60, "Informational", configured=False),
)


class PriorityInvalid(ValueError):
    """The value is not a priority in use here; the message says why and what is."""


def level_from_row(row: PriorityLevel) -> Level:
    return Level(
        level=row.level,
        name=row.name,
        ack_within_minutes=row.ack_within_minutes,
        resolve_within_minutes=row.resolve_within_minutes,
        description=row.description,
    )


def priority_levels() -> list[Level]:
    """The levels in use, most urgent first (one query)."""
    rows = [level_from_row(row) for row in PriorityLevel.objects.order_by("level")]
    return rows or list(DEFAULT_LEVELS)


def _choices(levels: Sequence[Level]) -> str:
    return ", ".join(level.label for level in levels)


def priority_parse(value: object, levels: Sequence[Level] | None = None) -> int | None:
    """The priority ``value`` names, or None for no priority (None or a blank string).

    Accepts 1..5 (a number or its text), ``P1``..``P5`` and a configured display name,
    in any case. Raises PriorityInvalid for anything else, and for a level that is not
    configured. ``levels`` defaults to ``priority_levels()`` (one query).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PriorityInvalid("must be a string or a whole number")
    levels = priority_levels() if levels is None else levels
    number: int | None = None
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        match = _CODE.match(text)
        if text.isascii() and text.isdigit() and len(text) <= 2:
            number = int(text)
        elif match:
            number = int(match.group(1))
        else:
            by_name = {level.name.casefold(): level.level for level in levels}
            number = by_name.get(text.casefold())
            if number is None:
                raise PriorityInvalid(f"{text[:40]!r} is not a priority (use {_choices(levels)})")
    if not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise PriorityInvalid(f"{value!r} is not a priority (use {_choices(levels)})")
    if number not in {level.level for level in levels}:
        raise PriorityInvalid(f"P{number} is not a priority in use here (use {_choices(levels)})")
    return number


def priority_label(priority: int | None, levels: Sequence[Level] | None = None) -> str:
    """``P1 (SEV1)`` for a priority, ``none`` for None; ``P5`` for a level no longer
    configured (an incident graded before the levels changed)."""
    if priority is None:
        return "none"
    for level in priority_levels() if levels is None else levels:
        if level.level == priority:
            return level.label
    return f"P{priority}"


def level_of(priority: int | None, levels: Sequence[Level]) -> Level | None:
    return next((level for level in levels if level.level == priority), None)
