"""iCal subscription feeds: secret tokens (only a hash stored) and calendar building.

A feed covers one week back to one year ahead, in UTC. Each shift's UID is derived
from (schedule, source, engineer, start), so the same shift keeps its UID on every
refresh; calendar clients update events in place.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oncall.models import Engineer
from schedules.models import FeedToken, Schedule
from schedules.resolver import Shift

FEED_PAST = timedelta(weeks=1)
FEED_FUTURE = timedelta(days=365)
REFRESH = timedelta(hours=1)
PRODID = "-//oncall//schedules feed//EN"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/feeds/{token}.ics"


@transaction.atomic
def feed_token_rotate(
    *, schedule: Schedule | None = None, engineer: Engineer | None = None
) -> tuple[str, FeedToken]:
    """Revoke the subject's active token(s) and issue a new one. The plain token is
    returned once and never stored."""
    if (schedule is None) == (engineer is None):
        raise ValueError("give exactly one of schedule or engineer")
    kind = FeedToken.Kind.SCHEDULE if schedule else FeedToken.Kind.ENGINEER
    now = timezone.now()
    FeedToken.objects.filter(
        kind=kind, schedule=schedule, engineer=engineer, revoked_at=None
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    row = FeedToken.objects.create(
        kind=kind, schedule=schedule, engineer=engineer, token_hash=token_hash(token)
    )
    return token, row


@transaction.atomic
def feed_token_revoke(*, schedule: Schedule | None = None, engineer: Engineer | None = None) -> int:
    """Revoke every active token of the subject; returns how many were revoked."""
    kind = FeedToken.Kind.SCHEDULE if schedule else FeedToken.Kind.ENGINEER
    return FeedToken.objects.filter(
        kind=kind, schedule=schedule, engineer=engineer, revoked_at=None
    ).update(revoked_at=timezone.now())


def feed_tokens_revoke(*, ids: list[int]) -> int:
    return FeedToken.objects.filter(pk__in=ids, revoked_at=None).update(revoked_at=timezone.now())


def feed_token_find(token: str) -> FeedToken | None:
    """The active token row for a plain token, or None (unknown or revoked)."""
    if not token or len(token) > 128:
        return None
    return (
        FeedToken.objects.select_related("schedule", "engineer")
        .filter(token_hash=token_hash(token), revoked_at=None)
        .first()
    )


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
    now: datetime | None = None,
) -> bytes:
    """An RFC 5545 calendar of ``(schedule id, schedule name, shift)`` triples.

    Written directly rather than through ``icalendar``'s object model, which is about
    ten times slower for a year of shifts; the tests parse the output with
    ``icalendar`` to keep it honest.
    """
    stamp = _utc(now or timezone.now())
    title = _escape(name)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{title}",
        f"X-WR-CALNAME:{title}",
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
