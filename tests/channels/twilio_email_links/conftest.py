"""Delivery fixtures: fake Twilio and SMTP servers on loopback, settings pointing at
them, a signed-request helper and a paged engineer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from twilio.request_validator import RequestValidator

from oncall.people.models import ContactMethod, Engineer
from paging.alert_event import AlertEvent
from paging.engine import tick
from paging.ingest import alerts_ingest
from paging.models import Incident, Service
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"
FROM_NUMBER = "+15559870000"
PUBLIC = "https://oncall.example.test"
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def fake_twilio(settings) -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_ENABLED = True
    settings.TWILIO_BASE_URL = server.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    settings.PUBLIC_BASE_URL = PUBLIC
    yield server
    server.stop()
    assert server.unexpected() == [], "Twilio received messages nobody expected"


@pytest.fixture
def fake_smtp(settings) -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_ENABLED = True
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "oncall@example.test"
    settings.PUBLIC_BASE_URL = PUBLIC
    yield server
    server.stop()
    assert server.unexpected() == [], "the SMTP server received mail nobody expected"


def twilio_sign(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC + path, params)


def twilio_post(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    signature: str | None = "auto",
):
    """POST like Twilio does (form-encoded, signed over the public URL)."""
    headers = {}
    if signature == "auto":
        headers["HTTP_X_TWILIO_SIGNATURE"] = twilio_sign(path, params)
    elif signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
    )


@dataclass
class Cast:
    alice: Engineer
    sms: ContactMethod
    voice: ContactMethod
    email: ContactMethod
    bob: Engineer


def engineer_with(name: str, phone: str, ladder: list[tuple[str, int]]) -> Engineer:
    """An engineer with contact methods and rules: ``ladder`` = [(kind, delay min)]."""
    engineer = EngineerFactory(display_name=name)
    for kind, delay in ladder:
        value = phone if kind in ("sms", "voice") else f"{name.lower()}@example.test"
        cm = ContactMethodFactory(engineer=engineer, kind=kind, value=value)
        NotificationRuleFactory(engineer=engineer, contact_method=cm, delay_minutes=delay)
    return engineer


@pytest.fixture
def cast(db) -> Cast:
    alice = engineer_with("Alice", "+15551230001", [("sms", 0), ("voice", 5), ("email", 10)])
    bob = engineer_with("Bob", "+15551230002", [("sms", 0)])
    methods = {cm.kind: cm for cm in alice.contact_methods.all()}
    return Cast(alice, methods["sms"], methods["voice"], methods["email"], bob)


def fire(*steps: list[Engineer], key: str = "k1", title: str = "DB down") -> Incident:
    """Open an incident on service "payments", whose policy (made by the first call)
    pages ``steps`` 15 min apart."""
    service = Service.objects.filter(name="payments").first() or ServiceFactory(
        name="payments", escalation_policy=policy_with_steps(*steps)
    )
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


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def tick_at(clock: time_machine.Coordinates, when: datetime) -> int:
    clock.move_to(when)
    return tick()
