"""What every channel says about the incidents of a page message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from paging.models import Incident, Message


@dataclass(frozen=True)
class IncidentView:
    id: int
    title: str
    service: str
    severity: str
    status: str
    open_for: str
    incident: Incident


def duration_text(delta: timedelta) -> str:
    """ "2 hours 5 minutes", "1 minute", "less than a minute" (spoken and written)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    for value, unit in ((days, "day"), (hours, "hour"), (mins, "minute")):
        if value:
            parts.append(f"{value} {unit}{'' if value == 1 else 's'}")
    return " ".join(parts[:2])


def message_incidents(message: Message) -> list[Incident]:
    """The incident of a page, or the incidents folded into a bundle, by id."""
    if message.incident_id is not None:
        return list(Incident.objects.select_related("service").filter(pk=message.incident_id))
    return list(
        Incident.objects.select_related("service")
        .filter(pk__in=message.bundled.values("incident_id"))
        .order_by("pk")
    )


def incident_view(incident: Incident, now: datetime | None = None) -> IncidentView:
    now = now or timezone.now()
    return IncidentView(
        id=incident.pk,
        title=incident.title,
        service=incident.service.name,
        severity=incident.severity,
        status=incident.status,
        open_for=duration_text(now - incident.created_at),
        incident=incident,
    )


def is_page(message: Message) -> bool:
    return message.purpose == Message.Purpose.PAGE
