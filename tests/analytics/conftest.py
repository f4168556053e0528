"""A hand-computed cast of incidents with known timestamps (see test_metrics.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from oncall.people.models import Engineer
from paging.models import Incident, Message, Service
from tests.factories import EngineerFactory, TeamFactory
from tests.paging.factories import IncidentFactory, ServiceFactory

T = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday


def s(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@dataclass
class Cast:
    a: Service
    b: Service
    alice: Engineer
    bob: Engineer
    incidents: dict[str, Incident]


def make_incident(
    service: Service,
    *,
    created: datetime,
    ack: float | None = None,
    resolve: float | None = None,
    by: Engineer | None = None,
    **fields: object,
) -> Incident:
    status = (
        "resolved" if resolve is not None else "acknowledged" if ack is not None else "triggered"
    )
    return IncidentFactory(
        service=service,
        created_at=created,
        updated_at=created,
        acknowledged_at=created + timedelta(seconds=ack) if ack is not None else None,
        acknowledged_by=by if ack is not None else None,
        resolved_at=created + timedelta(seconds=resolve) if resolve is not None else None,
        status=status,
        **fields,
    )


def page(
    incident: Incident,
    *,
    kind: str,
    status: str,
    sent: float | None,
    engineer: Engineer | None = None,
    at: datetime | None = None,
) -> Message:
    sent_at = (
        at
        if at is not None
        else (incident.created_at + timedelta(seconds=sent) if sent is not None else None)
    )
    return Message.objects.create(
        idempotency_key=f"{incident.pk}-{kind}-{status}-{sent}-{at}-{engineer and engineer.pk}",
        purpose=Message.Purpose.PAGE,
        engineer=engineer,
        kind=kind,
        destination="x",
        body="page",
        status=status,
        due_at=incident.created_at,
        sent_at=sent_at,
        incident=incident,
    )


@pytest.fixture
def cast(db) -> Cast:
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    a = ServiceFactory(name="api", team=TeamFactory(name="Core", slug="core"))
    b = ServiceFactory(name="billing", team=TeamFactory(name="Money", slug="money"))
    inc = {
        # service api, high urgency, created one hour apart
        "a1": make_incident(a, created=s(0), ack=60, resolve=600, by=alice),
        "a2": make_incident(a, created=s(3600), ack=120, resolve=1200, by=alice),
        "a3": make_incident(a, created=s(7200), ack=300, resolve=1800, by=bob),
        "a4": make_incident(a, created=s(10800), ack=600, resolve=3600, by=bob, escalation_step=2),
        "a5": make_incident(a, created=s(14400), resolve=240),  # resolved without ack
        # service billing
        "b1": make_incident(b, created=s(600), ack=30, resolve=300, by=alice, severity="error"),
        "b2": make_incident(
            b, created=s(4200), ack=90, by=bob, severity="warning", escalation_loop=1
        ),
        "b3": make_incident(b, created=s(7800), severity="warning", urgency="low"),
    }
    return Cast(a=a, b=b, alice=alice, bob=bob, incidents=inc)
