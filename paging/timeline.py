"""Writing timeline lines (IncidentEvent rows). Callers are already inside a transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from paging.models import IncidentEvent


def event_build(
    *,
    incident_id: int,
    kind: str,
    text: str = "",
    at: datetime | None = None,
    actor_id: int | None = None,
    via: str = "",
    message_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> IncidentEvent:
    """An unsaved event, for bulk_create by the engine."""
    return IncidentEvent(
        incident_id=incident_id,
        kind=kind,
        text=text,
        at=at or timezone.now(),
        actor_id=actor_id,
        via=via,
        message_id=message_id,
        data=data or {},
    )


def event_record(**kwargs: Any) -> IncidentEvent:
    event = event_build(**kwargs)
    event.save()
    return event
