"""Fixtures for the inbound endpoints: one service with one integration of each kind."""

from __future__ import annotations

import pytest

from paging.models import Alert, Incident, IncidentEvent, Integration, Service
from tests.factories import TeamFactory


def integration_make(kind: str, *, service: Service | None = None, **extra) -> Integration:
    service = service or Service.objects.create(
        name=f"svc-{Service.objects.count() + 1}", team=TeamFactory()
    )
    return Integration.objects.create(service=service, kind=kind, **extra)


@pytest.fixture
def service(db) -> Service:
    return Service.objects.create(name="payments", team=TeamFactory())


@pytest.fixture
def am_integration(service) -> Integration:
    return integration_make(Integration.Kind.ALERTMANAGER, service=service)


@pytest.fixture
def pd_integration(service) -> Integration:
    return integration_make(
        Integration.Kind.PAGERDUTY, service=service, token="R0UT1NGKEY0000000000000000000001"
    )


@pytest.fixture
def webhook_integration(service) -> Integration:
    return integration_make(Integration.Kind.WEBHOOK, service=service)


def stored_counts() -> tuple[int, int, int]:
    """(incidents, alerts, timeline events): what a rejected request must not change."""
    return Incident.objects.count(), Alert.objects.count(), IncidentEvent.objects.count()
