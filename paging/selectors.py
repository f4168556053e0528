"""Reads for the incident pages and the admin home (no writes here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from paging.actor import actor_label, via_channel
from paging.models import Alert, Incident, IncidentEvent

OPEN = Incident.OPEN_STATUSES


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    label: str
    text: str
    actor: str  # "" for the system (engine, integration)
    channel: str


def incident_timeline(*, incident_id: int) -> list[TimelineLine]:
    """The incident's timeline, oldest first, with who acted and through which channel."""
    events = (
        IncidentEvent.objects.filter(incident_id=incident_id)
        .select_related("actor", "message")
        .order_by("at", "id")
    )
    lines = []
    for event in events:
        channel = via_channel(event.via)
        message = event.message
        if message is not None and message.transport == "console":
            # Sent to the console because no provider is configured for this kind.
            channel = f"{message.kind} (console)"
        lines.append(
            TimelineLine(
                at=event.at,
                label=event.get_kind_display(),
                text=event.text,
                actor=actor_label(event.actor.display_name if event.actor else None, event.via),
                channel=channel,
            )
        )
    return lines


def incident_alerts(*, incident_id: int) -> QuerySet[Alert]:
    return Alert.objects.filter(incident_id=incident_id).select_related("integration")


def open_incidents_by_service() -> list[dict[str, Any]]:
    """Per service with open incidents: triggered and acknowledged counts, worst first."""
    rows = (
        Incident.objects.filter(status__in=OPEN)
        .order_by()
        .values("service_id", "service__name")
        .annotate(
            triggered=Count("id", filter=Q(status=Incident.Status.TRIGGERED)),
            acknowledged=Count("id", filter=Q(status=Incident.Status.ACKNOWLEDGED)),
            high=Count("id", filter=Q(urgency="high")),
        )
    )
    out = [
        {
            "service_id": r["service_id"],
            "service_name": r["service__name"],
            "triggered": r["triggered"],
            "acknowledged": r["acknowledged"],
            "high": r["high"],
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["triggered"], -r["acknowledged"], r["service_name"]))
    return out
