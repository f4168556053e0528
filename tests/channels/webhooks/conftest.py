"""Outgoing webhooks: a loopback receiver, a frozen clock, a cast with two services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine

from oncall.people.models import Engineer
from paging.alert_event import AlertEvent
from paging.channels.webhooks.models import WebhookEndpoint
from paging.channels.webhooks.services import webhook_endpoint_save
from paging.ingest import alerts_ingest
from paging.models import Incident, Service
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.fakes.webhooks import FakeWebhookReceiver
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps

T0 = datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)
SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    fake = FakeWebhookReceiver()
    yield fake
    fake.close()


@dataclass
class Cast:
    ada: Engineer
    grace: Engineer
    payments: Service
    search: Service


@pytest.fixture
def cast(db: None) -> Cast:
    ada = EngineerFactory(display_name="Ada Lovelace")
    sms = ContactMethodFactory(engineer=ada, kind="sms", value="+14155550001")
    NotificationRuleFactory(engineer=ada, contact_method=sms, delay_minutes=0)
    grace = EngineerFactory(display_name="Grace Hopper")
    sms = ContactMethodFactory(engineer=grace, kind="sms", value="+14155550002")
    NotificationRuleFactory(engineer=grace, contact_method=sms, delay_minutes=0)
    policy = policy_with_steps([ada], [grace], delay_minutes=10)
    payments = ServiceFactory(name="Payments", escalation_policy=policy)
    search = ServiceFactory(name="Search", escalation_policy=policy)
    return Cast(ada, grace, payments, search)


def endpoint(
    url: str,
    *,
    name: str = "automation",
    service: Service | None = None,
    events: list[str] | None = None,
) -> WebhookEndpoint:
    return webhook_endpoint_save(
        endpoint=None,
        fields={
            "name": name,
            "url": url,
            "secret": SECRET,
            "service": service,
            "events": events or [],
        },
    )


def fire(service: Service, key: str = "api-down", title: str = "Payment API down") -> Incident:
    integration = IntegrationFactory(service=service, kind="webhook")
    result = alerts_ingest(
        integration=integration,
        events=[
            AlertEvent(
                action="trigger", alert_key=key, group_key=key, title=title, severity="critical"
            )
        ],
    )
    return Incident.objects.get(pk=result.incident_ids[0])
