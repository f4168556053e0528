"""Following incident state changes without touching the paging app: a tick step.

``incident_changes_forward`` reads new timeline rows (``IncidentEvent``) past a stored
cursor and hands them to the channels' followers (``ChangeFollower``, registered with
their ``ChannelSpec``): each turns acks, resolves, escalations and reassignments into
outbox rows for what its channel posted about the incident (Slack: a ``chat.update``
of every post, ``slack/post_updates.py``; PagerDuty: an acknowledge/resolve to every
service it was forwarded to, ``pagerduty/forward_updates.py``). The database is the
queue: each row's idempotency key holds the post/forward and the event, so reading an
event twice writes nothing new.

The cursor lags behind events younger than ``SETTLE`` (``event_cursor.py`` says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from oncall.channel_registry import ChangeFollower, change_followers
from paging.channels.event_cursor import cursor_events_handle
from paging.channels.models import EventCursor
from paging.ingest_sql import quoted, sql_once
from paging.models import IncidentEvent, Message

CURSOR_NAME = "bridges"
# Events read per tick; those inside the settle window are read again (cheaply).
BATCH_SIZE = 2000


@dataclass(frozen=True)
class Outgoing:
    """One outbox row a follower asks for (a notice: it belongs to no incident)."""

    key: str
    kind: str
    destination: str
    body: str


def _outgoing(followers: list[ChangeFollower], events: list[IncidentEvent]) -> list[Outgoing]:
    """The outbox rows the events call for (a query or so per follower for the batch)."""
    return [row for follower in followers for row in follower.outgoing(events)]


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


def _question_sql(*posted_tables: str) -> str:
    """The question over the followers' tables (built once per process and database with
    ``sql_once``: cheaper than the ORM's)."""
    # Identifiers from model metadata; the one value is a parameter.
    posted = " OR ".join(f"EXISTS (SELECT 1 FROM {quoted(t)})" for t in posted_tables)  # noqa: S608
    events, cursors = quoted(IncidentEvent._meta.db_table), quoted(EventCursor._meta.db_table)
    newer = f"EXISTS (SELECT 1 FROM {events} e WHERE e.id > c.last_event_id)"  # noqa: S608
    return f"SELECT ({posted}) AND {newer} FROM {cursors} c WHERE c.name = %s"  # noqa: S608


def _anything_to_forward(followers: list[ChangeFollower]) -> bool:
    """The step's cheap question, one statement: has any channel posted about an
    incident at all (a Slack post, a PagerDuty forward), and is there a timeline row
    past the cursor?

    Nothing posted (e.g. no provider is configured) or nothing new: the tick step ends
    here. The cursor then stays where it is, so events written before the first post
    are still read when it comes.
    """
    if not followers:
        return False
    sql = sql_once(_question_sql, *(f.model._meta.db_table for f in followers))
    with connection.cursor() as cursor:
        cursor.execute(sql, [CURSOR_NAME])
        row = cursor.fetchone()
    if row is None:  # the very first run
        EventCursor.objects.get_or_create(name=CURSOR_NAME)
        return True
    return bool(row[0])


def incident_changes_forward(*, limit: int = BATCH_SIZE) -> int:
    """The tick step: forward new incident state changes; returns outbox rows written."""
    followers = change_followers()
    if not _anything_to_forward(followers):
        return 0
    posted = reduce(
        or_, (Q(incident_id__in=f.model.objects.values("incident_id")) for f in followers)
    )
    kinds = set().union(*(f.event_kinds for f in followers))
    return cursor_events_handle(
        CURSOR_NAME,
        lambda after: IncidentEvent.objects.filter(posted, pk__gt=after).filter(kind__in=kinds),
        lambda events: _outgoing_write(_outgoing(followers, events)),
        limit=limit,
    )
