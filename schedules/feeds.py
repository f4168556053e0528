"""iCal subscription feeds: secret tokens (only a hash stored) and calendar building.

A feed covers one week back to one year ahead, in UTC; the shift running a week back
is served whole (its real start, not the window's). Each shift's UID is derived from
(schedule, source, engineer, start), so the same shift keeps its UID on every refresh;
calendar clients update events in place.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from oncall.people.models import Engineer
from oncall.public_url import public_url
from schedules.ical import calendar_build, shift_uid  # noqa: F401 - re-exported
from schedules.models import FeedToken, Schedule

FEED_PAST = timedelta(weeks=1)
FEED_FUTURE = timedelta(days=365)
REFRESH = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return public_url(f"/feeds/{token}.ics")


@transaction.atomic
def feed_token_rotate(
    *, schedule: Schedule | None = None, engineer: Engineer | None = None
) -> tuple[str, FeedToken]:
    """Revoke the subject's active token(s) and issue a new one. The plain token is
    returned once and never stored."""
    subject = _subject(schedule, engineer)
    kind = FeedToken.Kind.SCHEDULE if schedule else FeedToken.Kind.ENGINEER
    now = timezone.now()
    FeedToken.objects.filter(
        kind=kind, schedule=schedule, engineer=engineer, revoked_at=None
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    row = FeedToken.objects.create(
        kind=kind, schedule=schedule, engineer=engineer, token_hash=token_hash(token)
    )
    # The plain token is stored nowhere, not even masked.
    audit_record("feed_token_rotate", subject, changes={}, note="new feed URL")
    return token, row


def _subject(schedule: Schedule | None, engineer: Engineer | None) -> Schedule | Engineer:
    if schedule is not None and engineer is None:
        return schedule
    if engineer is not None and schedule is None:
        return engineer
    raise ValueError("give exactly one of schedule or engineer")


@transaction.atomic
def feed_token_revoke(*, schedule: Schedule | None = None, engineer: Engineer | None = None) -> int:
    """Revoke every active token of the subject; returns how many were revoked."""
    subject = _subject(schedule, engineer)
    kind = FeedToken.Kind.SCHEDULE if schedule else FeedToken.Kind.ENGINEER
    revoked = FeedToken.objects.filter(
        kind=kind, schedule=schedule, engineer=engineer, revoked_at=None
    ).update(revoked_at=timezone.now())
    if revoked:
        audit_record("feed_token_revoke", subject, changes={}, note=f"{revoked} revoked")
    return revoked


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
