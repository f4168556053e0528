"""Reading the incident timeline past a stored cursor, for tick steps that forward it
(``incident_changes_forward``: Slack and PagerDuty updates; ``webhooks_forward``: the
outgoing webhooks).

Why the cursor lags: ids are taken at INSERT but become visible at COMMIT, so a row
with a lower id can appear after a higher one. Events younger than ``SETTLE`` are
handled but the cursor does not move past them: they are read again next tick (a no-op,
the outbox keys hold the event) until no transaction that began before them can still
be running.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from paging.channels.models import EventCursor
from paging.models import IncidentEvent

SETTLE = timedelta(seconds=60)


def cursor_events_handle(
    name: str,
    events: Callable[[int], QuerySet[IncidentEvent]],
    handle: Callable[[list[IncidentEvent]], int],
    *,
    limit: int,
) -> int:
    """In one transaction: claim the cursor ``name`` (held by another worker: 0), read
    up to ``limit`` of ``events(last_event_id)`` in id order, ``handle`` them, and move
    the cursor past the settled events (not past the batch when it was full). Returns
    what ``handle`` returned."""
    with transaction.atomic():
        cursor = EventCursor.objects.select_for_update(skip_locked=True).filter(name=name).first()
        if cursor is None:  # another worker is at it
            return 0
        now = timezone.now()
        rows = list(events(cursor.last_event_id).order_by("pk")[:limit])
        written = handle(rows)
        settled = (
            IncidentEvent.objects.filter(pk__gt=cursor.last_event_id, at__lt=now - SETTLE)
            .aggregate(top=Max("pk"))
            .get("top")
        )
        if settled:
            if len(rows) == limit:
                settled = min(settled, rows[-1].pk)
            EventCursor.objects.filter(pk=cursor.pk).update(last_event_id=settled)
    return written
