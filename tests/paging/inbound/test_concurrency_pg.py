"""Concurrent deliveries on PostgreSQL: nothing doubled, nothing lost.

Each worker thread has its own database connection (Django connections are per
thread) and posts through the full request stack; a barrier releases them together.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from paging.models import Alert, Incident, IncidentEvent, Integration
from tests.paging.inbound.conftest import integration_make
from tests.paging.inbound.samples import alertmanager_message, am_alert

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12
DELIVERIES = 1000


def post_concurrently(url: str, bodies: list[bytes]) -> Counter:
    """POST every body from THREADS threads at once; the count of each status code."""
    barrier = threading.Barrier(THREADS)
    chunks = [bodies[i::THREADS] for i in range(THREADS)]

    def worker(chunk: list[bytes]) -> list[int]:
        client = Client()
        statuses = []
        try:
            barrier.wait()
            for body in chunk:
                statuses.append(client.post(url, body, content_type="application/json").status_code)
        finally:
            connection.close()
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, chunks))
    return Counter(status for statuses in results for status in statuses)


def am_url(integration: Integration) -> str:
    return f"/integrations/alertmanager/{integration.token}/"


def make(kind: str, **extra) -> Integration:
    # A thousand deliveries at once: the rate limit has its own tests.
    return integration_make(kind, **{"rate_limit_per_minute": 0, **extra})


def test_identical_deliveries_open_exactly_one_incident():
    integration = make(Integration.Kind.ALERTMANAGER)
    body = json.dumps(
        alertmanager_message([am_alert("a" * 16), am_alert("b" * 16)], group_key="g")
    ).encode()

    statuses = post_concurrently(am_url(integration), [body] * DELIVERIES)

    assert statuses == {202: DELIVERIES}
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.alerts.filter(status=Alert.Status.FIRING).count() == 2
    assert Alert.objects.count() == 2
    assert IncidentEvent.objects.filter(kind=IncidentEvent.Kind.TRIGGERED).count() == 1
    assert IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ALERT_RECEIVED).count() == 2
    # Every accepted delivery is counted on each alert, the racing first ones included.
    assert sorted(Alert.objects.values_list("deliveries", flat=True)) == [DELIVERIES] * 2


def test_concurrent_first_deliveries_of_a_new_alert_are_each_counted():
    """N deliveries of one alert nobody has seen yet, racing to create it: counter == N.

    Every round starts from a new alert key, so each round's first deliveries race on
    the INSERT (the loser used to be dropped from the count, 244 of 253 counted).
    """
    integration = make(Integration.Kind.ALERTMANAGER)
    rounds, per_round = 10, THREADS * 3
    for n in range(rounds):
        body = json.dumps(alertmanager_message([am_alert(f"{n:016x}")], group_key=f"r{n}"))
        statuses = post_concurrently(am_url(integration), [body.encode()] * per_round)
        assert statuses == {202: per_round}
    counts = dict(Alert.objects.values_list("alert_key", "deliveries"))
    assert len(counts) == rounds
    assert set(counts.values()) == {per_round}, counts


def test_distinct_alerts_each_open_their_incident_none_lost():
    integration = make(Integration.Kind.ALERTMANAGER)
    bodies = [
        json.dumps(alertmanager_message([am_alert(f"{n:016x}")], group_key=f"g{n}")).encode()
        for n in range(DELIVERIES)
    ]

    statuses = post_concurrently(am_url(integration), bodies)

    assert statuses == {202: DELIVERIES}
    assert Incident.objects.count() == DELIVERIES
    assert set(Incident.objects.values_list("dedup_key", flat=True)) == {
        f"g{n}" for n in range(DELIVERIES)
    }
    assert Alert.objects.filter(status=Alert.Status.FIRING).count() == DELIVERIES


def test_distinct_alerts_of_one_group_join_one_incident_none_lost():
    integration = make(Integration.Kind.ALERTMANAGER)
    bodies = [
        json.dumps(alertmanager_message([am_alert(f"{n:016x}")], group_key="one")).encode()
        for n in range(DELIVERIES)
    ]

    assert post_concurrently(am_url(integration), bodies) == {202: DELIVERIES}

    incident = Incident.objects.get()
    assert incident.alerts.filter(status=Alert.Status.FIRING).count() == DELIVERIES


def _pd_bodies(token: str, actions: list[str], key: str = "same") -> list[bytes]:
    payload = {"summary": "Broken", "source": "h", "severity": "critical"}
    return [
        json.dumps(
            {"routing_key": token, "event_action": a, "dedup_key": key, "payload": payload}
        ).encode()
        for a in actions
    ]


def test_pagerduty_concurrent_triggers_of_one_key_open_one_incident():
    integration = make(Integration.Kind.PAGERDUTY)
    statuses = post_concurrently("/v2/enqueue", _pd_bodies(integration.token, ["trigger"] * 300))
    assert statuses == {202: 300}
    assert Incident.objects.filter(status=Incident.Status.TRIGGERED).count() == 1


def test_pagerduty_ack_racing_triggers_records_one_ack():
    integration = make(Integration.Kind.PAGERDUTY)
    post_concurrently("/v2/enqueue", _pd_bodies(integration.token, ["trigger"]))
    mixed = _pd_bodies(integration.token, ["trigger", "acknowledge"] * 100)
    assert post_concurrently("/v2/enqueue", mixed) == {202: 200}
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ACKNOWLEDGED).count() == 1
