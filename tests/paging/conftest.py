"""Paging fixtures: a recording channel in place of the console, a frozen clock, and API
clients (staff; Alice, an engineer with an SMS-then-call ladder)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from paging.channels import TransportError
from paging.models import Message
from tests.factories import UserFactory
from tests.paging.factories import engineer_with_ladder


@dataclass
class Sent:
    kind: str
    destination: str
    subject: str
    body: str
    incident_id: int | None
    message_id: int
    at: datetime


@dataclass
class RecordingChannel:
    """Records every send; ``fail[destination] = permanent?`` makes sends there fail,
    ``errors[destination]`` raises that exact error."""

    name: str = "recording"
    sent: list[Sent] = field(default_factory=list)
    fail: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, TransportError] = field(default_factory=dict)

    def send(self, message: Message) -> str:
        if message.destination in self.errors:
            raise self.errors[message.destination]
        if message.destination in self.fail:
            raise TransportError("provider said no", permanent=self.fail[message.destination])
        self.sent.append(
            Sent(
                message.kind,
                message.destination,
                message.subject,
                message.body,
                message.incident_id,
                message.pk,
                timezone.now(),
            )
        )
        return f"rec-{message.pk}"

    def to(self, destination: str) -> list[Sent]:
        return [s for s in self.sent if s.destination == destination]


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> RecordingChannel:
    recording = RecordingChannel()
    # Patched where it is used: the outbox module.
    monkeypatch.setattr("paging.outbox.channel_for", lambda kind: recording)
    return recording


# The paging tests' frozen "now": a Monday 03:00 UTC (a night page).
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.fixture
def alice():
    return engineer_with_ladder("Alice", "+14155550001")


@pytest.fixture
def as_alice(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice.user)
    return client
