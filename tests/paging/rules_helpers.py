"""Helpers for the alert-rule and inhibition tests: real Alertmanager v4 messages posted
to the real endpoint, rules written through the one write path."""

from __future__ import annotations

import copy
import json
from typing import Any

from django.test import Client

from paging.models import Incident, InhibitRule, Integration
from paging.rule_writes import (
    alert_rules_save,
    calendar_exists,
    inhibit_rule_save,
    service_lookup,
)
from paging.rules_spec import inhibit_parse, rules_parse
from tests.paging.inbound.samples import alertmanager_sample

FIRING_END = "0001-01-01T00:00:00Z"


def am(
    fingerprint: str,
    status: str = "firing",
    *,
    starts_at: str = "2026-03-02T02:55:00.123456789Z",
    **labels: str,
) -> dict[str, Any]:
    """One alert of an Alertmanager v4 message, shaped like the contract sample's."""
    alert = copy.deepcopy(alertmanager_sample()["alerts"][0])
    alert["status"] = status
    alert["fingerprint"] = fingerprint
    alert["startsAt"] = starts_at
    alert["endsAt"] = FIRING_END if status == "firing" else "2026-03-02T03:30:00Z"
    alert["labels"] = {"alertname": "PaymentAPIDown", "severity": "critical", **labels}
    alert["annotations"] = {"summary": f"{labels.get('alertname', 'PaymentAPIDown')} {fingerprint}"}
    return alert


def message(*alerts: dict[str, Any], group_key: str = "") -> dict[str, Any]:
    """A v4 message of these alerts, the envelope of the contract sample."""
    body = alertmanager_sample()
    body["alerts"] = list(alerts)
    body["groupKey"] = group_key or "{}:{" + ",".join(a["fingerprint"] for a in alerts) + "}"
    body["status"] = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return body


def post(integration: Integration, *alerts: dict[str, Any], group_key: str = "") -> dict:
    response = Client().post(
        f"/integrations/alertmanager/{integration.token}/",
        json.dumps(message(*alerts, group_key=group_key)),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def incident_of(fingerprint: str) -> Incident:
    return Incident.objects.get(alerts__alert_key__startswith=f"{fingerprint}@")


def rules_set(integration: Integration, rules: list[dict[str, Any]]) -> None:
    specs = rules_parse(rules, service_for=service_lookup, calendars=calendar_exists)
    alert_rules_save(integration=integration, specs=specs)


def inhibition_set(**data: Any) -> InhibitRule:
    spec = inhibit_parse(data, calendars=calendar_exists)
    return inhibit_rule_save(rule=InhibitRule.objects.filter(name=spec.name).first(), spec=spec)
