"""RFC 5545 serialisation of resolved shifts (pure: no Django, no database).

Written directly rather than through ``icalendar``'s object model, which is about ten
times slower for a year of shifts; the tests parse the output with ``icalendar``.
UIDs derive from (schedule, source, engineer, start), so a shift keeps its UID on
every refresh and calendar clients update events in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from schedules.resolver import Shift

PRODID = "-//oncall//schedules feed//EN"


def shift_uid(schedule_id: int, shift: Shift) -> str:
    key = f"{schedule_id}:{shift.source}:{shift.engineer_id}:{shift.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@oncall"


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    limit = 75
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(raw[:cut].decode())
        raw = raw[cut:]
        limit = 74  # continuation lines start with a space
    return "\r\n ".join(parts)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_build(
    *,
    name: str,
    shifts: Iterable[tuple[int, str, Shift]],
    names: dict[int, str],
    now: datetime,
) -> bytes:
    """An RFC 5545 calendar of ``(schedule id, schedule name, shift)`` triples."""
    stamp = _utc(now)
    title = _escape(name)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        _fold(f"NAME:{title}"),
        _fold(f"X-WR-CALNAME:{title}"),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for schedule_id, schedule_name, shift in shifts:
        who = names.get(shift.engineer_id, f"engineer {shift.engineer_id}")
        description = shift.reason + (" (holiday)" if shift.holiday else "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift_uid(schedule_id, shift)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(shift.start)}",
            f"DTEND:{_utc(shift.end)}",
            _fold(f"SUMMARY:{_escape(f'On call: {who} ({schedule_name})')}"),
            _fold(f"DESCRIPTION:{_escape(description)}"),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
