"""The tick step that honours Slack's Retry-After, and the sweep of old Slack request
signatures (``SlackRequestSeen``) it runs once a minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from paging.channels.slack.models import SlackRateHold, SlackRequestSeen
from paging.channels.slack.transport import KINDS as SLACK_KINDS
from paging.models import Message

# Slack signatures older than its replay window (5 minutes) need not be kept.
SEEN_KEEP = timedelta(minutes=10)
SEEN_SWEEP_EVERY = timedelta(minutes=1)


_seen_swept_at: datetime | None = None


def _seen_sweep_due(now: datetime) -> bool:
    """Old Slack signatures are deleted once a minute per process, not every tick."""
    global _seen_swept_at
    # A clock that went backwards (tests, NTP) sweeps too.
    if _seen_swept_at is not None and _seen_swept_at <= now < _seen_swept_at + SEEN_SWEEP_EVERY:
        return False
    _seen_swept_at = now
    return True


def slack_rate_holds_apply() -> int:
    """The tick step honouring Slack's Retry-After: pending Slack messages to a held
    destination wait until the hold ends (no attempt is spent on them meanwhile).

    Holds are written only by the Slack transport: without Slack configured the step
    reads nothing (but for the sweep of old request signatures, once a minute)."""
    now = timezone.now()
    moved = 0
    if _seen_sweep_due(now):
        SlackRequestSeen.objects.filter(received_at__lt=now - SEEN_KEEP).delete()
    if not settings.SLACK_ENABLED:
        return 0
    holds = list(SlackRateHold.objects.all())  # one small read; empty but after a 429
    if not holds:
        return 0
    with transaction.atomic():
        for hold in holds:
            if hold.until <= now:
                continue
            moved += Message.objects.filter(
                Q(destination=hold.destination) | Q(destination__startswith=f"{hold.destination} "),
                status=Message.Status.PENDING,
                kind__in=SLACK_KINDS,
                due_at__lt=hold.until,
            ).update(due_at=hold.until)
        SlackRateHold.objects.filter(until__lte=now).delete()
    return moved
