"""Incident events become outbox rows for the webhooks that want them.

Four events are read from the incident timeline (``IncidentEvent``), the way
``incident_changes`` follows it for Slack and PagerDuty, so each has its one write path
already: ``triggered`` (ingest opened the incident), ``acknowledged``
(``incident_acknowledge``), ``escalated`` (an escalation step after the first: the
engine's next step, "escalate now", an ack timeout, a reassignment) and ``resolved``
(``incident_resolve``). ``webhooks_forward`` is the tick step: it reads new timeline rows
past its cursor and writes one outbox row per (endpoint, event), keyed
``webhook:<endpoint>:event:<timeline id>``, so reading an event twice writes nothing new.
Events that are not timeline rows of these kinds (a status update) are queued by
``webhook_event_emit``, inside the writer's transaction.

The body is rendered when the row is queued (its ``id`` and fields are the same on every
retry); the timestamp and signature are made at each attempt (``transport.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from oncall.people.models import Engineer
from paging.channels.event_cursor import cursor_events_handle
from paging.channels.models import EventCursor
from paging.channels.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from paging.ingest_sql import quoted, sql_once
from paging.models import Incident, IncidentEvent, Message
from paging.notify import incident_url
from paging.outbox import message_enqueue_created

KIND = "webhook"
CURSOR_NAME = "webhooks"
BATCH_SIZE = 2000

# Timeline kind -> webhook event. ``webhook_timeline_kind_register`` adds more.
_TIMELINE_EVENTS: dict[str, str] = {
    IncidentEvent.Kind.TRIGGERED: "triggered",
    IncidentEvent.Kind.ACKNOWLEDGED: "acknowledged",
    IncidentEvent.Kind.ESCALATION_STEP: "escalated",
    IncidentEvent.Kind.RESOLVED: "resolved",
}


def webhook_timeline_kind_register(kind: str, event: str) -> None:
    """Send timeline rows of ``kind`` as webhook ``event`` (one of ``EVENTS``): for an app
    that writes its own timeline kind instead of calling ``webhook_event_emit``."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    _TIMELINE_EVENTS[kind] = event


def _event_of(row: IncidentEvent) -> str | None:
    event = _TIMELINE_EVENTS.get(row.kind)
    if event == "escalated":
        data = row.data or {}
        if not data.get("step") and not data.get("loop"):
            return None  # the first step of the first pass is the page itself
    return event


def iso_utc(at: datetime) -> str:
    """ISO-8601 in UTC, to the second: ``2026-11-20T03:14:07Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_payload(
    *,
    delivery_id: str,
    event: str,
    occurred_at: datetime,
    incident: Incident,
    actor: Engineer | None,
    via: str = "",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body (README, "Outgoing webhooks")."""
    return {
        "id": delivery_id,
        "event": event,
        "occurred_at": iso_utc(occurred_at),
        "incident": {
            "id": incident.pk,
            "title": incident.title,
            "status": incident.status,
            "priority": f"P{incident.priority}" if incident.priority else None,
            "urgency": incident.urgency,
            "service": {"id": incident.service_id, "name": incident.service.name},
            "url": incident_url(incident.pk),
        },
        "actor": {"id": actor.pk, "name": actor.display_name} if actor is not None else None,
        "via": via,
        "data": data or {},
    }


def _enabled_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(enabled=True).order_by("pk"))


def _any_enabled_sql() -> str:
    table = quoted(WebhookEndpoint._meta.db_table)
    return f"SELECT 1 FROM {table} WHERE enabled = %s LIMIT 1"  # noqa: S608 - a model's table


def _any_enabled() -> bool:
    """The step's cheap question (most installations have no webhook): one statement
    built once per process, not an ORM query compiled on every tick."""
    with connection.cursor() as cursor:
        cursor.execute(sql_once(_any_enabled_sql), [True])
        return cursor.fetchone() is not None


def _matching(
    endpoints: Iterable[WebhookEndpoint], service_id: int, event: str, at: datetime
) -> list[WebhookEndpoint]:
    return [
        e
        for e in endpoints
        if (e.service_id is None or e.service_id == service_id)
        and e.wants(event)
        and e.enabled_at <= at
    ]


def _key(endpoint: WebhookEndpoint, source: str) -> str:
    return f"webhook:{endpoint.pk}:{source}"


def _keys_existing(keys: list[str]) -> set[str]:
    """Which of ``keys`` have an outbox row already (a statement per 500 keys)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            Message.objects.filter(idempotency_key__in=chunk).values_list(
                "idempotency_key", flat=True
            )
        )
    return found


def _queue(
    *,
    endpoints: list[WebhookEndpoint],
    source: str,
    event: str,
    occurred_at: datetime,
    incident: Incident,
    actor: Engineer | None,
    via: str,
    data: dict[str, Any] | None,
    existing: set[str] | None = None,
) -> int:
    """One outbox row (and its ``WebhookDelivery``) per endpoint not queued for ``source``
    yet; returns how many were written. Inside the caller's transaction. ``existing``:
    the keys already written, when the caller looked them up for a whole batch."""
    written = 0
    for endpoint in endpoints:
        key = _key(endpoint, source)
        if existing is not None:
            if key in existing:
                continue
        elif Message.objects.filter(idempotency_key=key).exists():
            continue
        delivery_id = str(uuid.uuid4())
        body = webhook_payload(
            delivery_id=delivery_id,
            event=event,
            occurred_at=occurred_at,
            incident=incident,
            actor=actor,
            via=via,
            data=data,
        )
        message, created = message_enqueue_created(
            idempotency_key=key,
            purpose=Message.Purpose.NOTICE,
            kind=KIND,
            destination=endpoint.url[:254],
            subject=f"{event} #{incident.pk}",
            body=json.dumps(body, separators=(",", ":")),
        )
        if created:
            WebhookDelivery.objects.create(
                delivery_id=delivery_id,
                endpoint=endpoint,
                incident=incident,
                event=event,
                message=message,
            )
            written += 1
    return written


def webhook_event_emit(
    incident: Incident,
    event: str,
    data: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    actor_id: int | None = None,
    via: str = "",
    occurred_at: datetime | None = None,
) -> int:
    """Queue ``event`` of ``incident`` for every enabled webhook of its service (and every
    global one) that wants it; returns the rows queued.

    Call it inside the transaction that made the change (the rows commit with it). ``key``
    names this occurrence (a status update's id): the same key again queues nothing; without
    one, ``data["id"]`` is used, else every call is a new occurrence. For events that are
    not on the timeline as one of the kinds ``webhooks_forward`` follows.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if key is None:
        key = str((data or {}).get("id") or uuid.uuid4())
    at = occurred_at or timezone.now()
    endpoints = _matching(_enabled_endpoints(), incident.service_id, event, at)
    if not endpoints:
        return 0
    actor = Engineer.objects.filter(pk=actor_id).first() if actor_id else None
    return _queue(
        endpoints=endpoints,
        source=f"{event}:{key}",
        event=event,
        occurred_at=at,
        incident=incident,
        actor=actor,
        via=via,
        data=data,
    )


def _timeline_data(row: IncidentEvent, event: str) -> dict[str, Any]:
    if event == "escalated":
        data = row.data or {}
        return {"step": int(data.get("step", 0)) + 1, "loop": data.get("loop", 0), "text": row.text}
    return {"text": row.text} if row.text else {}


def webhooks_forward(*, limit: int = BATCH_SIZE) -> int:
    """The tick step: queue new timeline events for the webhooks; returns rows written."""
    if not _any_enabled():
        return 0
    endpoints = _enabled_endpoints()
    if not endpoints:
        return 0
    cursor_row = EventCursor.objects.filter(name=CURSOR_NAME).values_list("last_event_id").first()
    if cursor_row is None:
        EventCursor.objects.get_or_create(name=CURSOR_NAME)
    elif not IncidentEvent.objects.filter(pk__gt=cursor_row[0]).exists():
        return 0
    since = min(e.enabled_at for e in endpoints)
    return cursor_events_handle(
        CURSOR_NAME,
        lambda after: IncidentEvent.objects.filter(
            pk__gt=after, kind__in=list(_TIMELINE_EVENTS), at__gte=since
        ),
        lambda rows: _rows_forward(endpoints, rows),
        limit=limit,
    )


def _rows_forward(endpoints: list[WebhookEndpoint], rows: list[IncidentEvent]) -> int:
    wanted = [(row, event) for row in rows if (event := _event_of(row)) is not None]
    if not wanted:
        return 0
    incidents = Incident.objects.select_related("service").in_bulk(
        {row.incident_id for row, _ in wanted}
    )
    actors = Engineer.objects.in_bulk({row.actor_id for row, _ in wanted if row.actor_id})
    plan = [
        (row, event, incident, matching)
        for row, event in wanted
        if (incident := incidents.get(row.incident_id)) is not None
        and (matching := _matching(endpoints, incident.service_id, event, row.at))
    ]
    # Events younger than SETTLE are read again each tick: one lookup for the batch.
    existing = _keys_existing(
        [_key(e, f"event:{row.pk}") for row, _, _, matching in plan for e in matching]
    )
    written = 0
    for row, event, incident, matching in plan:
        written += _queue(
            endpoints=matching,
            source=f"event:{row.pk}",
            event=event,
            occurred_at=row.at,
            incident=incident,
            actor=actors.get(row.actor_id) if row.actor_id else None,
            via=row.via,
            data=_timeline_data(row, event),
            existing=existing,
        )
    return written
