"""The scenario file of ``manage.py simulate``: parsed and checked before anything runs.

Format (and an example) in ``paging/simulate.py``. Every problem names the file, the
path inside it and what is wrong; nothing in a scenario is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

ACTIONS = ("alert", "ack", "resolve", "escalate", "note", "fail")
KEYS = ("start", "until", "time_zone", "events")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class ScenarioError(Exception):
    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}")


def parse_duration(value: Any) -> timedelta | None:
    """'90s', '7m', '1h30m' or a number of minutes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(minutes=value) if value >= 0 else None
    match = DURATION.match(str(value).strip())
    if not match or not any(match.groups()):
        return None
    h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(hours=h, minutes=m, seconds=s)


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 time (YAML may have read it already); UTC when it names no offset."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def fmt_offset(delta: timedelta) -> str:
    """+HH:MM:SS from the scenario's start (hours go past 24)."""
    seconds = int(delta.total_seconds())
    return f"+{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True)
class ScenarioEvent:
    offset: timedelta
    action: str
    args: dict[str, Any]
    path: str


@dataclass
class Scenario:
    start: datetime
    until: timedelta
    events: list[ScenarioEvent]
    # The zone the report shows beside UTC; None: the scenario's schedules' zone.
    time_zone: str | None = None


def _offset(file: str, where: str, at: Any, start: datetime, until: timedelta) -> timedelta:
    """An event's ``at``: an offset from start, or an ISO time; within start..until."""
    offset = parse_duration(at)
    if offset is None:
        instant = parse_instant(at)
        if instant is None:
            raise ScenarioError(
                file,
                f"{where}.at",
                "expected an offset such as 0m, 90s, 1h or an ISO 8601 time",
            )
        offset = instant - start
        if offset < timedelta(0):
            raise ScenarioError(file, f"{where}.at", f"{at} is before start ({start.isoformat()})")
    if offset > until:
        raise ScenarioError(
            file,
            f"{where}.at",
            f"{at} is after until ({fmt_offset(until)}): it would never be played;"
            " lengthen until or remove the event",
        )
    return offset


def scenario_load(path: Path, *, now: datetime) -> Scenario:
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(file, "", f"cannot read the scenario: {exc}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(file, "", "expected a mapping with start, until and events")
    unknown = set(doc) - set(KEYS)
    if unknown:
        raise ScenarioError(file, sorted(unknown)[0], f"unknown key (known: {', '.join(KEYS)})")
    start = parse_instant(doc.get("start", now))
    if start is None:
        raise ScenarioError(file, "start", f"{doc['start']!r} is not an ISO 8601 time")
    until = parse_duration(doc.get("until", "24h"))
    if until is None:
        raise ScenarioError(file, "until", "expected a duration such as 90s, 7m, 2h or 1h30m")
    time_zone = doc.get("time_zone")
    if time_zone is not None:
        try:
            ZoneInfo(str(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ScenarioError(
                file, "time_zone", f"{time_zone!r} is not an IANA time zone name"
            ) from None
    raw_events = doc.get("events") or []
    if not isinstance(raw_events, list):
        raise ScenarioError(file, "events", "expected a list")
    events = []
    for i, raw in enumerate(raw_events):
        where = f"events[{i}]"
        if not isinstance(raw, dict) or "at" not in raw:
            raise ScenarioError(file, where, "expected a mapping with 'at' and one action")
        offset = _offset(file, where, raw["at"], start, until)
        actions = [k for k in raw if k != "at"]
        if len(actions) != 1 or actions[0] not in ACTIONS:
            raise ScenarioError(file, where, f"give exactly one action of: {', '.join(ACTIONS)}")
        args = raw[actions[0]]
        if not isinstance(args, dict):
            raise ScenarioError(file, f"{where}.{actions[0]}", "expected a mapping")
        events.append(ScenarioEvent(offset, actions[0], args, f"{where}.{actions[0]}"))
    events.sort(key=lambda e: e.offset)
    return Scenario(
        start=start,
        until=until,
        events=events,
        time_zone=str(time_zone) if time_zone is not None else None,
    )
