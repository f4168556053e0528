"""Generic JSON webhook end to end."""

from __future__ import annotations

import json

from paging.models import Alert, Incident, Integration


def send(client, integration: Integration, body: dict) -> dict:
    response = client.post(
        f"/integrations/webhook/{integration.token}/",
        json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_firing_then_resolved(client, webhook_integration):
    answer = send(
        client,
        webhook_integration,
        {
            "title": "Queue backlog above 10k",
            "severity": "error",
            "dedup_key": "queue/backlog",
            "details": {"depth": 12000},
            "links": [{"href": "https://grafana/d/q", "text": "Queue"}],
            "source": "worker-3",
        },
    )
    incident = Incident.objects.get()
    assert answer == {
        "status": "accepted",
        "dedup_key": "queue/backlog",
        "incident_ids": [incident.pk],
    }
    assert (incident.title, incident.severity, incident.urgency) == (
        "Queue backlog above 10k",
        "error",
        "high",
    )
    assert incident.details == {"depth": 12000}
    assert incident.links == [{"href": "https://grafana/d/q", "text": "Queue"}]
    assert Alert.objects.get().source == "worker-3"

    send(client, webhook_integration, {"title": "Queue backlog", "dedup_key": "queue/backlog"})
    assert Incident.objects.count() == 1

    send(client, webhook_integration, {"status": "resolved", "dedup_key": "queue/backlog"})
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_without_dedup_key_each_post_is_a_new_incident_and_the_key_is_returned(
    client, webhook_integration
):
    first = send(client, webhook_integration, {"title": "A"})["dedup_key"]
    second = send(client, webhook_integration, {"title": "A"})["dedup_key"]
    assert first != second
    assert Incident.objects.count() == 2
    send(client, webhook_integration, {"status": "resolved", "dedup_key": first})
    assert Incident.objects.get(dedup_key=first).status == Incident.Status.RESOLVED
    assert Incident.objects.get(dedup_key=second).status == Incident.Status.TRIGGERED


def test_info_severity_is_low_urgency(client, webhook_integration):
    send(client, webhook_integration, {"title": "FYI", "severity": "info"})
    assert Incident.objects.get().urgency == "low"


def test_resolve_of_unknown_key_is_accepted_and_dropped(client, webhook_integration):
    send(client, webhook_integration, {"status": "resolved", "dedup_key": "nope"})
    assert Incident.objects.count() == 0
