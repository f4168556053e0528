"""Change events (deploys, config changes) of a service: recording them, and the ones
shown on an incident (those of its service up to ``CHANGE_EVENTS_WINDOW_MINUTES``
before it opened: "what changed just before this broke?")."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from paging.inbound.change_events import ChangeSpec
from paging.models import ChangeEvent, Incident, Integration

SHOWN_MAX = 20


def change_event_record(*, integration: Integration, spec: ChangeSpec) -> ChangeEvent:
    """Record one change against the integration's service (one INSERT).

    A timestamp in the future is taken as the time received: a change cannot have
    happened later than it was reported, and a clock running ahead must not make it
    show on incidents that opened before it.
    """
    now = timezone.now()
    occurred = spec.occurred_at if spec.occurred_at and spec.occurred_at <= now else now
    return ChangeEvent.objects.create(
        service_id=integration.service_id,
        integration=integration,
        summary=spec.summary,
        source=spec.source,
        occurred_at=occurred,
        received_at=now,
        custom_details=spec.custom_details,
        links=spec.links,
    )


def change_window() -> timedelta:
    return timedelta(minutes=settings.CHANGE_EVENTS_WINDOW_MINUTES)


def incident_recent_changes(*, incident: Incident) -> QuerySet[ChangeEvent]:
    """The service's changes in the window before the incident opened, newest first."""
    return ChangeEvent.objects.filter(
        service_id=incident.service_id,
        occurred_at__gte=incident.created_at - change_window(),
        occurred_at__lte=incident.created_at,
    ).order_by("-occurred_at", "-id")[:SHOWN_MAX]
