"""Following incident state changes without touching the paging app: a tick step.

``incident_changes_forward`` reads new timeline rows (``IncidentEvent``) past a stored
cursor and turns acks, resolves, escalations and reassignments into outbox rows:
a ``chat.update`` of every Slack message posted about the incident, and an
acknowledge/resolve to every PagerDuty service it was forwarded to. The database is
the queue: each row's idempotency key holds the post/forward and the event, so
reading an event twice writes nothing new.

Why the cursor lags: ids are taken at INSERT but become visible at COMMIT, so a
row with a lower id can appear after a higher one. Events younger than ``SETTLE`` are
handled but the cursor does not move past them: they are read again next tick (a
no-op) until no transaction that began before them can still be running.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from paging.channels.models import EventCursor
from paging.channels.pagerduty.forwarding import KIND as PAGERDUTY_KIND
from paging.channels.pagerduty.forwarding import follow_event
from paging.channels.pagerduty.models import PagerDutyForward
from paging.channels.slack.models import SlackPost
from paging.channels.slack.transport import KIND_UPDATE
from paging.models import IncidentEvent, Message

CURSOR_NAME = "bridges"
SETTLE = timedelta(seconds=60)
# Events read per tick; those inside the settle window are read again (cheaply).
BATCH_SIZE = 2000

SLACK_UPDATE_KINDS = (
    IncidentEvent.Kind.ACKNOWLEDGED,
    IncidentEvent.Kind.RESOLVED,
    IncidentEvent.Kind.REASSIGNED,
    IncidentEvent.Kind.ESCALATED,
    IncidentEvent.Kind.ACK_TIMEOUT,
)
PAGERDUTY_ACTIONS = {
    IncidentEvent.Kind.ACKNOWLEDGED: "acknowledge",
    IncidentEvent.Kind.RESOLVED: "resolve",
}


@dataclass(frozen=True)
class Outgoing:
    key: str
    kind: str
    destination: str
    body: str


def _outgoing(events: list[IncidentEvent]) -> list[Outgoing]:
    """The outbox rows the events call for (a few queries for the whole batch)."""
    incident_ids = {e.incident_id for e in events}
    posts: dict[int, list[SlackPost]] = defaultdict(list)
    for post in SlackPost.objects.filter(incident_id__in=incident_ids).order_by("pk"):
        posts[post.incident_id].append(post)
    forwards: dict[int, list[PagerDutyForward]] = defaultdict(list)
    for forward in PagerDutyForward.objects.filter(incident_id__in=incident_ids).order_by("pk"):
        forwards[forward.incident_id].append(forward)
    rows: list[Outgoing] = []
    for event in events:
        label = event.get_kind_display()
        for post in posts[event.incident_id]:
            rows.append(
                Outgoing(
                    f"slack-update:{post.pk}:{event.pk}",
                    KIND_UPDATE,
                    f"{post.channel} {post.ts}",
                    f"update #{event.incident_id}: {label}",
                )
            )
        action = PAGERDUTY_ACTIONS.get(event.kind)
        # An ack that came from PagerDuty itself is not echoed back.
        if action and event.via != "pagerduty":
            for forward in forwards[event.incident_id]:
                rows.append(
                    Outgoing(
                        f"pagerduty-{action}:{forward.pk}:{event.pk}",
                        PAGERDUTY_KIND,
                        forward.routing_key,
                        json.dumps(follow_event(action=action, dedup_key=forward.dedup_key)),
                    )
                )
    return rows


def _outgoing_write(rows: list[Outgoing]) -> int:
    """Insert the rows not written yet (their keys are unique); returns how many."""
    if not rows:
        return 0
    existing = set(
        Message.objects.filter(idempotency_key__in=[r.key for r in rows]).values_list(
            "idempotency_key", flat=True
        )
    )
    now = timezone.now()
    new = [
        Message(
            idempotency_key=r.key,
            purpose=Message.Purpose.NOTICE,
            kind=r.kind,
            destination=r.destination,
            body=r.body,
            due_at=now,
        )
        for r in rows
        if r.key not in existing
    ]
    Message.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


def _question_sql() -> str:
    def table(model: type) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    # Identifiers from model metadata; the one value is a parameter.
    bridged = (
        f"(EXISTS (SELECT 1 FROM {table(SlackPost)})"  # noqa: S608
        f" OR EXISTS (SELECT 1 FROM {table(PagerDutyForward)}))"
    )
    newer = f"EXISTS (SELECT 1 FROM {table(IncidentEvent)} e WHERE e.id > c.last_event_id)"  # noqa: S608
    return f"SELECT {bridged} AND {newer} FROM {table(EventCursor)} c WHERE c.name = %s"  # noqa: S608


_question: dict[str, str] = {}  # by database vendor, built once (cheaper than the ORM's)


def _anything_to_forward() -> bool:
    """The step's cheap question, one statement: has any incident been posted to Slack
    or forwarded to PagerDuty at all, and is there a timeline row past the cursor?

    No bridge in use (nothing posted or forwarded, e.g. neither is configured) or
    nothing new: the tick step ends here. The cursor then stays where it is, so events
    written before the first post are still read when it comes.
    """
    sql = _question.get(connection.vendor) or _question.setdefault(
        connection.vendor, _question_sql()
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [CURSOR_NAME])
        row = cursor.fetchone()
    if row is None:  # the very first run
        EventCursor.objects.get_or_create(name=CURSOR_NAME)
        return True
    return bool(row[0])


def incident_changes_forward(*, limit: int = BATCH_SIZE) -> int:
    """The tick step: forward new incident state changes; returns outbox rows written."""
    if not _anything_to_forward():
        return 0
    with transaction.atomic():
        cursor = (
            EventCursor.objects.select_for_update(skip_locked=True).filter(name=CURSOR_NAME).first()
        )
        if cursor is None:  # another worker is at it
            return 0
        now = timezone.now()
        bridged = Q(incident_id__in=SlackPost.objects.values("incident_id")) | Q(
            incident_id__in=PagerDutyForward.objects.values("incident_id")
        )
        events = list(
            IncidentEvent.objects.filter(bridged, pk__gt=cursor.last_event_id)
            .filter(kind__in=SLACK_UPDATE_KINDS)
            .order_by("pk")[:limit]
        )
        written = _outgoing_write(_outgoing(events))
        settled = (
            IncidentEvent.objects.filter(pk__gt=cursor.last_event_id, at__lt=now - SETTLE)
            .aggregate(top=Max("pk"))
            .get("top")
        )
        if settled:
            if len(events) == limit:
                settled = min(settled, events[-1].pk)
            EventCursor.objects.filter(pk=cursor.pk).update(last_event_id=settled)
    return written
