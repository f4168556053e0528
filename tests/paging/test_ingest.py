"""alerts_ingest with AlertEvent objects: dedup, grouping, ack/resolve, maintenance."""

from __future__ import annotations

import pytest
from django.test import override_settings

from paging.alert_event import AlertEvent
from paging.ingest import alerts_ingest
from paging.models import Alert, Incident, IncidentEvent, Integration
from tests.paging.factories import (
    IntegrationFactory,
    MaintenanceWindowFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def trig(alert_key: str, group_key: str = "g1", severity: str = "critical") -> AlertEvent:
    return AlertEvent(
        action="trigger",
        alert_key=alert_key,
        group_key=group_key,
        title=f"{alert_key} is down",
        severity=severity,  # type: ignore[arg-type]
        source="prom",
    )


def res(alert_key: str, group_key: str = "g1") -> AlertEvent:
    return AlertEvent(action="resolve", alert_key=alert_key, group_key=group_key)


def test_group_grouping_joins_alerts_of_a_group_into_one_incident() -> None:
    integration = IntegrationFactory()
    result = alerts_ingest(integration=integration, events=[trig("a1"), trig("a2")])
    assert result.outcomes == ["created", "joined"]
    assert result.dedup_keys == ["g1", "g1"]
    incident = Incident.objects.get()
    assert result.incident_ids == [incident.pk]
    assert incident.status == "triggered"
    assert incident.next_due_at is not None  # the engine pages at once
    assert sorted(incident.alerts.values_list("alert_key", flat=True)) == ["a1", "a2"]
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds == ["triggered", "alert_received", "alert_received"]


def test_alert_grouping_opens_one_incident_per_alert() -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    result = alerts_ingest(integration=integration, events=[trig("a1"), trig("a2")])
    assert result.outcomes == ["created", "created"]
    assert result.dedup_keys == ["a1", "a2"]
    assert Incident.objects.count() == 2


def test_repeated_deliveries_are_idempotent() -> None:
    integration = IntegrationFactory()
    for _ in range(5):
        alerts_ingest(integration=integration, events=[trig("a1"), trig("a2")])
    assert Incident.objects.count() == 1
    assert Alert.objects.count() == 2
    assert Alert.objects.get(alert_key="a1").deliveries == 5
    assert IncidentEvent.objects.filter(kind="alert_received").count() == 2


def test_incident_resolves_only_when_all_its_alerts_are_resolved() -> None:
    integration = IntegrationFactory()
    alerts_ingest(integration=integration, events=[trig("a1"), trig("a2")])
    alerts_ingest(integration=integration, events=[res("a1"), trig("a2")])
    incident = Incident.objects.get()
    assert incident.status == "triggered"
    result = alerts_ingest(integration=integration, events=[res("a1"), res("a2")])
    assert result.outcomes == ["dropped", "resolved"]
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_via == "integration"
    assert incident.next_due_at is None


def test_after_resolve_the_same_key_opens_a_new_incident_and_alert() -> None:
    integration = IntegrationFactory(kind="pagerduty")
    first = alerts_ingest(integration=integration, events=[trig("k", "k")])
    alerts_ingest(integration=integration, events=[res("k", "k")])
    second = alerts_ingest(integration=integration, events=[trig("k", "k")])
    assert first.incident_ids != second.incident_ids
    assert Alert.objects.filter(alert_key="k").count() == 2
    assert Incident.objects.filter(status="triggered").count() == 1


def test_acknowledge_and_unknown_keys() -> None:
    integration = IntegrationFactory(kind="pagerduty")
    alerts_ingest(integration=integration, events=[trig("k", "k")])
    result = alerts_ingest(
        integration=integration,
        events=[
            AlertEvent(action="acknowledge", alert_key="k", group_key="k"),
            AlertEvent(action="acknowledge", alert_key="nope", group_key="nope"),
            AlertEvent(action="resolve", alert_key="nope", group_key="nope"),
        ],
    )
    assert result.outcomes == ["acknowledged", "dropped", "dropped"]
    assert result.dedup_keys == ["k", "nope", "nope"]
    incident = Incident.objects.get()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_via == "integration"


def test_severity_maps_to_urgency_by_service_rules() -> None:
    service = ServiceFactory(urgency_rules={"warning": "high"})
    integration = IntegrationFactory(service=service, grouping="alert")
    alerts_ingest(
        integration=integration,
        events=[trig("w", severity="warning"), trig("i", severity="info")],
    )
    assert Incident.objects.get(dedup_key="w").urgency == "high"
    assert Incident.objects.get(dedup_key="i").urgency == "low"


def test_higher_severity_alert_raises_the_incident() -> None:
    integration = IntegrationFactory()
    alerts_ingest(integration=integration, events=[trig("a", severity="warning")])
    alerts_ingest(integration=integration, events=[trig("b", severity="critical")])
    incident = Incident.objects.get()
    assert (incident.severity, incident.urgency) == ("critical", "high")


def test_maintenance_window_records_but_pages_nobody() -> None:
    window = MaintenanceWindowFactory()
    integration = IntegrationFactory(service=window.service)
    alerts_ingest(integration=integration, events=[trig("a1")])
    incident = Incident.objects.get()
    assert incident.in_maintenance is True
    assert incident.next_due_at == window.ends_at  # the engine looks again when it ends
    assert incident.escalation_started_at is None
    assert incident.events.filter(kind="maintenance").exists()


@override_settings(PUBLIC_BASE_URL="https://oncall.example.test")
def test_integration_urls_and_token_lookup() -> None:
    am = IntegrationFactory(kind="alertmanager")
    pd = IntegrationFactory(kind="pagerduty")
    assert len(pd.token) == 32
    assert am.inbound_url == f"https://oncall.example.test/integrations/alertmanager/{am.token}/"
    assert pd.inbound_url == "https://oncall.example.test/v2/enqueue"
    assert Integration.objects.for_token(pd.token) == pd
    assert Integration.objects.for_token(pd.token, kind="webhook") is None
    assert Integration.objects.for_token("x" * 500) is None


def test_results_follow_the_input_order_whatever_the_handling_order() -> None:
    integration = IntegrationFactory(kind="pagerduty", grouping="alert")
    result = alerts_ingest(
        integration=integration,
        events=[trig("zeta", "zeta"), res("nope", "nope"), trig("alpha", "alpha")],
    )
    assert result.dedup_keys == ["zeta", "nope", "alpha"]
    assert result.outcomes == ["created", "dropped", "created"]
    assert len(result.incident_ids) == 2
