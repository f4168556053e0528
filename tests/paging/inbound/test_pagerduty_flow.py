"""PagerDuty Events API v2 compatibility: dedup_key semantics, and a real client library."""

from __future__ import annotations

import json
import warnings

import pytest

from paging.models import Alert, Incident, Integration
from tests.paging.inbound.conftest import integration_make, stored_counts
from tests.paging.inbound.samples import pagerduty_ack_resolve_samples, pagerduty_trigger_sample

with warnings.catch_warnings():
    # pdpyras warns that it is deprecated in favour of "pagerduty"; it is tested on purpose,
    # as the client many existing scripts still use.
    warnings.simplefilter("ignore", UserWarning)
    import pdpyras

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"


def enqueue(client, body: dict) -> dict:
    response = client.post("/v2/enqueue", json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content
    return response.json()


def event(action: str, dedup_key: str | None = None, **payload) -> dict:
    body: dict = {"routing_key": ROUTING_KEY, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {"summary": "Broken", "source": "host-1", "severity": "error", **payload}
    return body


def test_contract_samples_trigger_ack_resolve(client, pd_integration):
    answer = enqueue(client, pagerduty_trigger_sample())
    assert answer == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "payments/api-down",
    }
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.dedup_key == "payments/api-down"
    assert incident.title == "Payment API error rate above 5% for 5 minutes"
    assert incident.details["custom_details"] == {"error_rate": "7.3%", "region": "eu-west-1"}

    ack, resolve = pagerduty_ack_resolve_samples()
    assert enqueue(client, ack)["dedup_key"] == "payments/api-down"
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_via) == ("acknowledged", "integration")

    enqueue(client, resolve)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_trigger_with_open_key_updates_the_same_incident(client, pd_integration):
    enqueue(client, event("trigger", "k1"))
    enqueue(client, event("trigger", "k1", summary="Still broken"))
    assert Incident.objects.count() == 1
    assert Alert.objects.get().deliveries == 2


def test_trigger_after_ack_keeps_it_acknowledged(client, pd_integration):
    enqueue(client, event("trigger", "k1"))
    enqueue(client, event("acknowledge", "k1"))
    enqueue(client, event("trigger", "k1"))
    assert list(Incident.objects.values_list("status", flat=True)) == ["acknowledged"]


def test_trigger_after_resolve_opens_a_new_incident(client, pd_integration):
    enqueue(client, event("trigger", "k1"))
    enqueue(client, event("resolve", "k1"))
    enqueue(client, event("trigger", "k1"))
    statuses = list(Incident.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["resolved", "triggered"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_ack_or_resolve_of_unknown_key_is_dropped_with_202(client, pd_integration, action):
    answer = enqueue(client, event(action, "never-seen"))
    assert answer["dedup_key"] == "never-seen"
    assert stored_counts() == (0, 0, 0)


def test_generated_dedup_key_can_resolve(client, pd_integration):
    key = enqueue(client, event("trigger"))["dedup_key"]
    assert len(key) == 32
    assert Incident.objects.get().dedup_key == key
    enqueue(client, event("resolve", key))
    assert Incident.objects.get().status == Incident.Status.RESOLVED


def test_keys_are_per_service(client, pd_integration):
    other = integration_make(Integration.Kind.PAGERDUTY, token="R0UT1NGKEY0000000000000000000002")
    enqueue(client, event("trigger", "same"))
    enqueue(client, {**event("trigger", "same"), "routing_key": other.token})
    enqueue(client, event("resolve", "same"))
    assert Incident.objects.get(service=pd_integration.service).status == "resolved"
    assert Incident.objects.get(service=other.service).status == "triggered"


def test_alertmanager_pagerduty_configs_shape(client, pd_integration):
    # What Alertmanager's pagerduty_configs (routing_key) posts, trimmed to the fields it sets.
    body = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "b9e6a1f0c1c1e8a4b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9",
        "payload": {
            "summary": "[FIRING:1] PaymentAPIDown (payments critical)",
            "source": "Alertmanager",
            "severity": "critical",
            "custom_details": {
                "firing": "Labels:\n - alertname = PaymentAPIDown\n",
                "num_firing": "1",
            },
        },
        "images": [],
        "links": [],
        "client": "Alertmanager",
        "client_url": "http://alertmanager.example.com:9093/#/alerts?receiver=pd",
    }
    enqueue(client, body)
    enqueue(client, {**body, "event_action": "resolve"})
    assert Incident.objects.get().status == Incident.Status.RESOLVED


@pytest.mark.django_db(transaction=True)
def test_real_pdpyras_client_against_live_server(live_server):
    """The official (older) PagerDuty client works by changing only the URL; each call's
    202 arrives after the commit, so another connection already sees the state."""
    integration = integration_make(Integration.Kind.PAGERDUTY)
    session = pdpyras.EventsAPISession(integration.token)
    session.url = live_server.url
    # One connection per request: with keep-alive, the live server's request threads
    # outlive the test and trip over its shared in-memory SQLite connection.
    session.headers["Connection"] = "close"
    session.retry[500] = 0  # fail fast in a test instead of retrying

    key = session.trigger(
        "Checkout latency above 2 s",
        "checkout-1.prod",
        severity="critical",
        custom_details={"p99_ms": 2300},
        links=[{"href": "https://grafana.example.com/d/checkout", "text": "Dashboard"}],
    )
    incident = Incident.objects.get(dedup_key=key)
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.title == "Checkout latency above 2 s"
    assert incident.details["custom_details"] == {"p99_ms": 2300}

    assert session.acknowledge(key) == key
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED

    assert session.resolve(key) == key
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED

    own_key = session.trigger("Disk full", "db-1", dedup_key="db-1/disk", severity="warning")
    assert own_key == "db-1/disk"
    assert Incident.objects.get(dedup_key="db-1/disk").urgency == "low"

    stranger = pdpyras.EventsAPISession("Z" * 32)  # an unknown key: PagerDuty's 400
    stranger.url = live_server.url
    stranger.headers["Connection"] = "close"
    with pytest.raises(pdpyras.PDClientError) as info:
        stranger.trigger("x", "y")
    assert info.value.response.status_code == 400
    assert info.value.response.json()["errors"] == ["Invalid routing key"]
    session.close()
    stranger.close()
