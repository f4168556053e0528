"""Datetimes and durations as people read them: every time names its zone (UI.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or settings.TIME_ZONE)


def local_text(instant: datetime | None, tz_name: str | None, *, seconds: bool = False) -> str:
    """``Sun 29 Nov 2026, 13:14 CET`` (with ``:03`` seconds if asked); "—" for None."""
    if instant is None:
        return "—"
    local = instant.astimezone(zone(tz_name))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return local.strftime(f"%a {local.day} %b %Y, {clock} %Z")


def age_text(delta: timedelta) -> str:
    """A duration as ``3 d 4 h``, ``2 h 05 min`` or ``7 min`` (one reading, no seconds)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"
