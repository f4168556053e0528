"""The shared test cast and alert firing, for every app's tests.

- ``T0``: the frozen "now" of the ``clock`` fixture (tests/conftest.py), a Monday 03:00
  UTC (a night page).
- ``engineer_with(name, phone, ladder)``: an engineer with contact methods and
  notification rules; ``engineer_with_ladder`` is the usual SMS-then-call one.
- ``payments(*steps)``: the "payments" service, whose policy (made by the first call)
  pages ``steps``.
- ``fire(service, key, …)`` (or ``fire([alice])`` on "payments"): an alert through the
  real ingest path, returning the incident it opened.
- ``tick_at(clock, when)``: the engine tick at ``when``.
- ``RecordingChannel``: records every send in place of the console channel (the
  ``channel`` fixture patches it into the outbox).
- ``in_threads(*targets)``: run concurrent workers (PostgreSQL tests), each on its own
  database connection; returns what they raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import time_machine
from django.db import connections
from django.utils import timezone

from oncall.people.models import Engineer
from paging.alert_event import AlertEvent
from paging.channels import TransportError
from paging.engine import tick
from paging.ingest import alerts_ingest
from paging.models import Incident, Message, Service
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)

SMS_THEN_CALL: tuple[tuple[str, int], ...] = (("sms", 0), ("voice", 5))
SMS_AT_ONCE: tuple[tuple[str, int], ...] = (("sms", 0),)


def engineer_with(
    name: str,
    phone: str,
    ladder: Sequence[tuple[str, int]] = SMS_THEN_CALL,
    *,
    username: str | None = None,
) -> Engineer:
    """An engineer with contact methods and rules: ``ladder`` = [(kind, delay min)]
    (phone kinds get ``phone``, others ``<name>@example.test``); ``username`` when a
    config file names them."""
    user = {"user__username": username} if username else {}
    engineer = EngineerFactory(display_name=name, **user)
    for kind, delay in ladder:
        value = phone if kind in ("sms", "voice") else f"{name.lower()}@example.test"
        method = ContactMethodFactory(engineer=engineer, kind=kind, value=value)
        NotificationRuleFactory(engineer=engineer, contact_method=method, delay_minutes=delay)
    return engineer


def engineer_with_ladder(name: str, phone: str) -> Engineer:
    """SMS at once, a call 5 minutes later (high urgency)."""
    return engineer_with(name, phone, SMS_THEN_CALL)


def payments(*steps: list[Engineer], delay_minutes: int = 15) -> Service:
    """The "payments" service; the first call gives it a policy paging ``steps``
    ``delay_minutes`` apart, later calls return it as it is."""
    return Service.objects.filter(name="payments").first() or ServiceFactory(
        name="payments", escalation_policy=policy_with_steps(*steps, delay_minutes=delay_minutes)
    )


def fire(
    service: Service | list[Engineer],
    key: str = "k1",
    *,
    title: str = "DB down",
    severity: str = "critical",
    priority: int | None = None,
) -> Incident:
    """Trigger one alert on ``service`` through a new webhook integration (the real ingest
    path) and return its incident. Given a list of engineers instead of a service, the
    alert goes to ``payments(that list)``."""
    if not isinstance(service, Service):
        service = payments(service)
    integration = IntegrationFactory(service=service, kind="webhook")
    event = AlertEvent(
        action="trigger",
        alert_key=key,
        group_key=key,
        title=title,
        severity=severity,
        priority=priority,
    )
    result = alerts_ingest(integration=integration, events=[event])
    return Incident.objects.get(pk=result.incident_ids[0])


def tick_at(clock: time_machine.Coordinates, when: datetime) -> int:
    """Move the frozen clock to ``when`` and run one engine tick there."""
    clock.move_to(when)
    return tick()


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


def in_threads(*targets: Callable[[], None], timeout: float | None = 30) -> list[BaseException]:
    """Run each target in a thread of its own (its own database connection, closed at
    the end) and wait for all; returns what they raised, for the test to assert on."""
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the calling test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return errors
