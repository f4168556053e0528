"""RFC 5545 serialisation of resolved shifts (pure: no Django, no database).

Written directly rather than through ``icalendar``'s object model, which is about ten
times slower for a year of shifts; the tests parse the output with ``icalendar``.
UIDs derive from (schedule, source, engineer, start), so a shift keeps its UID on
every refresh and calendar clients update events in place (callers pass shifts with
their real start, not one cut at the feed window: ``resolver.resolve_whole``).

Times are whole seconds (RFC 5545 has no fractions): both ends are cut to the second,
so neighbouring events stay adjacent; a stretch that rounds to nothing (a 0.5 s
override, layers made milliseconds apart) is dropped, and the events either side of
it are merged when they are the same shift. No event has DTEND <= DTSTART.

No METHOD property: a feed is a snapshot, not an iTIP message (RFC 5545 3.7.2), and
iTIP's PUBLISH forbids the ATTENDEE each event carries for the engineer on call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from schedules.resolver import Shift, same_shift

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


def _whole_second(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


def _param(text: str) -> str:
    """A quoted parameter value (RFC 5545 3.2): DQUOTE and control characters cannot
    appear in one, so they become a plain quote and a space."""
    cleaned = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return '"' + cleaned.replace('"', "'") + '"'


def _events(
    shifts: Iterable[tuple[int, str, Shift]],
) -> list[tuple[int, str, Shift, datetime, datetime]]:
    """(schedule id, name, shift, start, end) with whole-second ends, none empty; a
    shift split only by a dropped sub-second stretch comes back as one event."""
    out: list[tuple[int, str, Shift, datetime, datetime]] = []
    last: dict[int, int] = {}  # schedule id -> index in out of its latest event
    for schedule_id, schedule_name, shift in shifts:
        start, end = _whole_second(shift.start), _whole_second(shift.end)
        if end <= start:
            continue
        i = last.get(schedule_id)
        if i is not None:
            _sid, _name, prev, prev_start, prev_end = out[i]
            if prev_end == start and same_shift(prev, shift):
                out[i] = (schedule_id, schedule_name, prev, prev_start, end)
                continue
        last[schedule_id] = len(out)
        out.append((schedule_id, schedule_name, shift, start, end))
    return out


def calendar_build(
    *,
    name: str,
    shifts: Iterable[tuple[int, str, Shift]],
    names: dict[int, str],
    now: datetime,
    emails: dict[int, str] | None = None,
) -> bytes:
    """An RFC 5545 calendar of ``(schedule id, schedule name, shift)`` triples.

    Each event names the engineer in SUMMARY and, when ``emails`` has an address for
    them, as ATTENDEE (CN + mailto)."""
    emails = emails or {}
    stamp = _utc(now)
    title = _escape(name)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        _fold(f"NAME:{title}"),
        _fold(f"X-WR-CALNAME:{title}"),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for schedule_id, schedule_name, shift, start, end in _events(shifts):
        who = names.get(shift.engineer_id, f"engineer {shift.engineer_id}")
        description = shift.reason + (" (holiday)" if shift.holiday else "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift_uid(schedule_id, shift)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(start)}",
            f"DTEND:{_utc(end)}",
            _fold(f"SUMMARY:{_escape(f'On call: {who} ({schedule_name})')}"),
        ]
        email = emails.get(shift.engineer_id)
        if email:
            lines.append(
                _fold(
                    f"ATTENDEE;CN={_param(who)};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
                    f"PARTSTAT=ACCEPTED:mailto:{email}"
                )
            )
        lines += [
            _fold(f"DESCRIPTION:{_escape(description)}"),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
