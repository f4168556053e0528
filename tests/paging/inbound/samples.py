"""The contract sample payloads (copied from shared/contracts) and builders for variants."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "samples"


def sample(name: str) -> Any:
    """A fresh copy of a sample payload (tests may mutate it)."""
    return json.loads((HERE / name).read_text())


def alertmanager_sample() -> dict[str, Any]:
    return sample("alertmanager_v4.json")


def pagerduty_trigger_sample() -> dict[str, Any]:
    return sample("pagerduty_events_v2_trigger.json")


def pagerduty_ack_resolve_samples() -> list[dict[str, Any]]:
    return sample("pagerduty_events_v2_ack_resolve.json")


def alertmanager_message(
    alerts: list[dict[str, Any]], *, group_key: str = '{}:{alertname="Test"}'
) -> dict[str, Any]:
    """An Alertmanager v4 message with these alerts (status computed as Alertmanager does)."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "oncall",
        "groupLabels": {"alertname": "Test"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": copy.deepcopy(alerts),
    }


def am_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    starts_at: str = "2026-11-20T03:14:07.123456789Z",
    severity: str = "critical",
    summary: str = "Something is down",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "Test", "severity": severity, "instance": f"host-{fingerprint}"},
        "annotations": {"summary": summary},
        "startsAt": starts_at,
        "endsAt": "2026-11-20T04:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com:9090/graph",
        "fingerprint": fingerprint,
    }


def grafana_sample() -> dict[str, Any]:
    return sample("grafana_alerting_webhook.json")


def change_event_sample() -> dict[str, Any]:
    return sample("pagerduty_change_event.json")


def sns_alarm_sample() -> dict[str, Any]:
    return sample("sns_cloudwatch_alarm.json")


def sns_confirmation_sample() -> dict[str, Any]:
    return sample("sns_subscription_confirmation.json")
