"""Grafana Alerting's webhook contact point: firing/resolved per alert, like Alertmanager."""

from __future__ import annotations

import json

import pytest

from paging.models import Alert, Incident, Integration
from tests.paging.inbound.conftest import integration_make, stored_counts
from tests.paging.inbound.samples import grafana_sample


@pytest.fixture
def grafana(service) -> Integration:
    return integration_make(Integration.Kind.GRAFANA, service=service)


def post(client, integration: Integration, body: dict):
    return client.post(
        f"/integrations/grafana/{integration.token}/",
        json.dumps(body),
        content_type="application/json",
    )


def test_contract_sample_fires_then_resolves(client, grafana):
    response = post(client, grafana, grafana_sample())
    assert response.status_code == 202, response.content
    assert response.json()["alerts"] == 1
    incident = Incident.objects.get()
    assert incident.title == "CPU above 95% for 5 minutes on node-7"
    assert incident.severity == "critical"
    alert = Alert.objects.get()
    assert alert.alert_key == "57c6d9296de2ad39@2026-11-29T07:10:00.000000Z"
    assert alert.details["values"] == {"B": 97.2, "C": 1}
    assert alert.details["labels"]["grafana_folder"] == "Infrastructure"
    assert alert.details["grafana"] == {
        "orgId": 1,
        "title": "[FIRING:1] HighCPU Infrastructure (node-7:9100 critical)",
        "state": "alerting",
    }
    assert [link["text"] for link in alert.links] == [
        "Source",
        "Runbook",
        "Dashboard",
        "Panel",
        "Silence",
    ]

    resolved = grafana_sample()
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-29T07:25:00Z"
    resolved["state"] = "ok"
    assert post(client, grafana, resolved).status_code == 202
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_repeat_delivery_is_one_alert(client, grafana):
    for _ in range(2):
        assert post(client, grafana, grafana_sample()).status_code == 202
    assert Alert.objects.get().deliveries == 2


def test_message_without_group_key_groups_by_receiver_and_group_labels(client, grafana):
    body = grafana_sample()
    del body["groupKey"]
    assert post(client, grafana, body).status_code == 202
    assert Incident.objects.get().dedup_key.startswith("grafana:")
    assert post(client, grafana, body).status_code == 202
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("alerts", 0, "status"), "pending", "'alerts[0].status'"),
        (("alerts", 0, "labels"), None, "'alerts[0].labels'"),
        (("orgId",), "one", "'orgId'"),
        (("title",), 5, "'title'"),
        (("alerts",), {}, "'alerts'"),
    ],
)
def test_bad_body_is_400_naming_the_field(client, grafana, path, value, field):
    body = grafana_sample()
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    before = stored_counts()
    response = post(client, grafana, body)
    assert response.status_code == 400
    assert any(e.startswith(field) for e in response.json()["errors"]), response.json()
    assert stored_counts() == before


def test_alertmanager_token_is_not_a_grafana_token(client, am_integration):
    assert post(client, am_integration, grafana_sample()).status_code == 404
