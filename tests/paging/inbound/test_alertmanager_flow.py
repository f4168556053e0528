"""Alertmanager webhook end to end: incidents opened, joined, resolved; idempotent."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, OperationalError

from paging.models import Alert, Incident, Integration
from tests.paging.inbound.conftest import stored_counts
from tests.paging.inbound.samples import alertmanager_message, alertmanager_sample, am_alert


def deliver(client, integration: Integration, body: dict) -> dict:
    response = client.post(
        f"/integrations/alertmanager/{integration.token}/",
        json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_contract_sample(client, am_integration):
    answer = deliver(client, am_integration, alertmanager_sample())

    incident = Incident.objects.get()
    assert answer == {
        "status": "accepted",
        "alerts": 2,
        "truncated_alerts": 0,
        "incident_ids": [incident.pk],
    }
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.service == am_integration.service
    assert incident.title == "Payment API is not answering health checks"
    assert (incident.severity, incident.urgency) == ("critical", "high")
    # The resolved alert of the sample was never seen firing: nothing to resolve.
    alert = Alert.objects.get()
    assert alert.alert_key == "7c1f2a9e4b3d5c60@2026-11-20T03:14:07.123456Z"
    assert alert.status == Alert.Status.FIRING
    assert alert.source == "payments-1:8000"


def test_group_resolves_only_when_all_alerts_resolved(client, am_integration):
    a, b = am_alert("aaaa000000000001"), am_alert("bbbb000000000002")
    deliver(client, am_integration, alertmanager_message([a, b]))
    incident = Incident.objects.get()
    assert incident.alerts.filter(status="firing").count() == 2

    # One resolved, the other still firing (as Alertmanager sends it: both in the group).
    deliver(
        client,
        am_integration,
        alertmanager_message([am_alert("aaaa000000000001", status="resolved"), b]),
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert list(incident.alerts.values_list("status", flat=True).order_by("alert_key")) == [
        "resolved",
        "firing",
    ]

    # Then all resolved.
    deliver(
        client,
        am_integration,
        alertmanager_message(
            [
                am_alert("aaaa000000000001", status="resolved"),
                am_alert("bbbb000000000002", status="resolved"),
            ]
        ),
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_via == "integration"
    assert Incident.objects.count() == 1


def test_repeated_delivery_is_idempotent(client, am_integration):
    body = alertmanager_message([am_alert("aaaa000000000001"), am_alert("bbbb000000000002")])
    first = deliver(client, am_integration, body)
    counts = stored_counts()[:2]
    for _ in range(3):
        assert deliver(client, am_integration, body) == first
    assert stored_counts()[:2] == counts == (1, 2)
    assert sorted(Alert.objects.values_list("deliveries", flat=True)) == [4, 4]


def test_resolved_redelivery_changes_nothing(client, am_integration):
    deliver(client, am_integration, alertmanager_message([am_alert("aaaa000000000001")]))
    resolved = alertmanager_message([am_alert("aaaa000000000001", status="resolved")])
    deliver(client, am_integration, resolved)
    before = stored_counts()
    deliver(client, am_integration, resolved)
    assert stored_counts() == before
    assert Incident.objects.get().status == Incident.Status.RESOLVED


def test_new_firing_episode_after_resolve_opens_a_new_incident(client, am_integration):
    deliver(client, am_integration, alertmanager_message([am_alert("aaaa000000000001")]))
    deliver(
        client,
        am_integration,
        alertmanager_message([am_alert("aaaa000000000001", status="resolved")]),
    )
    deliver(
        client,
        am_integration,
        alertmanager_message([am_alert("aaaa000000000001", starts_at="2026-11-21T08:00:00Z")]),
    )
    statuses = list(Incident.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["resolved", "triggered"]


def test_grouping_by_alert_opens_one_incident_per_alert(client, am_integration):
    am_integration.grouping = Integration.Grouping.ALERT
    am_integration.save()
    a, b, c = (am_alert(f"{n}" * 16) for n in "abc")
    answer = deliver(client, am_integration, alertmanager_message([a, b, c]))
    assert len(answer["incident_ids"]) == 3
    assert Incident.objects.count() == 3

    deliver(
        client, am_integration, alertmanager_message([am_alert("b" * 16, status="resolved"), a, c])
    )
    by_key = {i.alerts.get().alert_key[:16]: i.status for i in Incident.objects.all()}
    assert by_key == {"a" * 16: "triggered", "b" * 16: "resolved", "c" * 16: "triggered"}


def test_groups_are_separate_incidents(client, am_integration):
    deliver(client, am_integration, alertmanager_message([am_alert("a" * 16)], group_key="g1"))
    deliver(client, am_integration, alertmanager_message([am_alert("b" * 16)], group_key="g2"))
    assert sorted(Incident.objects.values_list("dedup_key", flat=True)) == ["g1", "g2"]


def test_alerts_beyond_the_per_message_limit_are_counted_not_refused(
    client, am_integration, settings
):
    settings.INBOUND_MAX_ALERTS_PER_MESSAGE = 3
    alerts = [am_alert(f"{n:016x}") for n in range(5)]
    answer = deliver(client, am_integration, alertmanager_message(alerts))
    assert (answer["alerts"], answer["truncated_alerts"]) == (3, 2)
    assert Incident.objects.count() == 1
    assert sorted(a.alert_key[:16] for a in Alert.objects.all()) == [f"{n:016x}" for n in range(3)]


def test_warning_severity_is_low_urgency(client, am_integration):
    deliver(client, am_integration, alertmanager_message([am_alert("a" * 16, severity="warning")]))
    assert Incident.objects.get().urgency == "low"


def test_empty_alert_list_is_accepted_and_stores_nothing(client, am_integration):
    assert deliver(client, am_integration, alertmanager_message([]))["incident_ids"] == []
    assert stored_counts() == (0, 0, 0)


def test_grafana_webhook_shape_is_accepted(client, am_integration):
    body = alertmanager_sample()
    body.update({"orgId": 1, "title": "[FIRING:1] PaymentAPIDown", "state": "alerting"})
    for alert in body["alerts"]:
        alert.update({"silenceURL": "http://grafana/s", "dashboardURL": "", "values": {"A": 1}})
    deliver(client, am_integration, body)
    links = Alert.objects.get().links
    assert {"href": "http://grafana/s", "text": "Silence"} in links


@pytest.mark.parametrize("error", [OperationalError("database is down")])
def test_database_outage_is_503_so_alertmanager_retries(client, am_integration, error):
    with mock.patch("paging.inbound.views.alerts_ingest", autospec=True, side_effect=error):
        response = client.post(
            f"/integrations/alertmanager/{am_integration.token}/",
            json.dumps(alertmanager_sample()),
            content_type="application/json",
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert stored_counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("error", "errors"),
    [
        (DataError("value out of range"), ["a value is out of range"]),
        (ValidationError("title: too long"), ["title: too long"]),
    ],
)
def test_values_the_database_refuses_are_400(client, am_integration, error, errors):
    with mock.patch("paging.inbound.views.alerts_ingest", autospec=True, side_effect=error):
        response = client.post(
            f"/integrations/alertmanager/{am_integration.token}/",
            json.dumps(alertmanager_sample()),
            content_type="application/json",
        )
    assert response.status_code == 400
    assert response.json()["errors"] == errors
