"""Prometheus Alertmanager webhook (``version: "4"``) -> AlertEvents.

Accepted body (unknown fields, including Grafana's extras, are ignored):

- ``groupKey`` (string, required): the incident an alert joins in "group" mode.
- ``alerts`` (array, required, may be empty), each an object with
  - ``status`` (required): ``firing`` -> action "trigger", ``resolved`` -> "resolve";
  - ``labels`` (object of strings, required);
  - ``annotations`` (object of strings, optional);
  - ``fingerprint`` (string, optional: when absent, the first 16 hex digits of the
    SHA-256 of the sorted label set, as stable as Alertmanager's own);
  - ``startsAt`` / ``endsAt`` (RFC 3339, optional), ``generatorURL`` (optional).

Identity of one alert: ``fingerprint@startsAt`` (startsAt in UTC, microseconds), so a
new firing episode of the same label set is a new alert while re-deliveries of the
same episode (every ``repeat_interval``) are the same one.

Title: annotation ``summary``, else ``description``, else label ``alertname``.
Severity: label ``severity`` (or ``priority``) mapped by ``SEVERITY_ALIASES``; absent
or unknown values default to ``DEFAULT_SEVERITY`` ("critical"), because an alert
routed to an on-call receiver is meant to page, and guessing low would silence it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from paging.alert_event import AlertEvent, Severity
from paging.inbound.fields import (
    InvalidPayload,
    parse_timestamp,
    read_str,
    read_str_map,
    type_name,
)

DEFAULT_SEVERITY: Severity = "critical"
TITLE_MAX = 1024
KEY_MAX = 255

SEVERITY_ALIASES: dict[str, Severity] = {
    # critical
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "emerg": "critical",
    "alert": "critical",
    "page": "critical",
    "disaster": "critical",
    "p1": "critical",
    "sev1": "critical",
    # error
    "error": "error",
    "err": "error",
    "high": "error",
    "major": "error",
    "p2": "error",
    "sev2": "error",
    # warning
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "average": "warning",
    "p3": "warning",
    "sev3": "warning",
    # info
    "info": "info",
    "information": "info",
    "informational": "info",
    "notice": "info",
    "low": "info",
    "debug": "info",
    "none": "info",
    "ok": "info",
    "p4": "info",
    "p5": "info",
    "sev4": "info",
    "sev5": "info",
}

_ZERO_TIME_PREFIX = "0001-01-01"


def severity_from_labels(labels: dict[str, str]) -> Severity:
    """The AlertEvent severity for a label set (see the module docstring)."""
    for name in ("severity", "priority"):
        value = labels.get(name, "").strip().lower()
        if value in SEVERITY_ALIASES:
            return SEVERITY_ALIASES[value]
    return DEFAULT_SEVERITY


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit fingerprint of a label set, for senders that omit one."""
    canonical = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _moment(value: str, path: str, errors: list[str]) -> datetime | None:
    if not value or value.startswith(_ZERO_TIME_PREFIX):
        return None  # Go's zero time: "not set"
    moment = parse_timestamp(value)
    if moment is None:
        errors.append(f"'{path}' is not an RFC 3339 timestamp: {value[:64]!r}")
    return moment


def _title(labels: dict[str, str], annotations: dict[str, str], fingerprint: str) -> str:
    for text in (
        annotations.get("summary"),
        annotations.get("description"),
        annotations.get("message"),
        labels.get("alertname"),
    ):
        if text and text.strip():
            return text.strip()[:TITLE_MAX]
    return f"Alert {fingerprint}"


def _links(alert: dict[str, Any], annotations: dict[str, str]) -> list[dict[str, str]]:
    links = []
    candidates = (
        ("generatorURL", alert.get("generatorURL"), "Source"),
        ("runbook_url", annotations.get("runbook_url"), "Runbook"),
        ("dashboardURL", alert.get("dashboardURL"), "Dashboard"),  # Grafana
        ("panelURL", alert.get("panelURL"), "Panel"),  # Grafana
        ("silenceURL", alert.get("silenceURL"), "Silence"),  # Grafana
    )
    for _name, href, text in candidates:
        if isinstance(href, str) and href.strip():
            links.append({"href": href.strip(), "text": text})
    return links


def alertmanager_parse(body: dict[str, Any]) -> list[AlertEvent]:
    """Every alert of one webhook message as an AlertEvent, or InvalidPayload."""
    errors: list[str] = []
    group_key = read_str(body, "groupKey", "groupKey", errors, required=True)
    if len(group_key) > KEY_MAX:
        # Group keys embed the route and its labels; long ones are hashed, still stable.
        group_key = "sha256:" + hashlib.sha256(group_key.encode("utf-8")).hexdigest()
    alerts = body.get("alerts")
    if alerts is None:
        errors.append("'alerts' is missing")
        alerts = []
    elif not isinstance(alerts, list):
        errors.append(f"'alerts' must be an array, not {type_name(alerts)}")
        alerts = []
    external_url = body.get("externalURL") if isinstance(body.get("externalURL"), str) else ""
    receiver = body.get("receiver") if isinstance(body.get("receiver"), str) else ""

    events: list[AlertEvent] = []
    for index, alert in enumerate(alerts):
        path = f"alerts[{index}]"
        if not isinstance(alert, dict):
            errors.append(f"'{path}' must be an object, not {type_name(alert)}")
            continue
        before = len(errors)
        status = read_str(alert, "status", f"{path}.status", errors, required=True)
        if status and status not in ("firing", "resolved"):
            errors.append(f"'{path}.status' must be 'firing' or 'resolved', not {status[:32]!r}")
        if "labels" not in alert or alert.get("labels") is None:
            errors.append(f"'{path}.labels' is missing")
        labels = read_str_map(alert, "labels", f"{path}.labels", errors)
        annotations = read_str_map(alert, "annotations", f"{path}.annotations", errors)
        fingerprint = read_str(alert, "fingerprint", f"{path}.fingerprint", errors, max_length=64)
        starts_text = read_str(alert, "startsAt", f"{path}.startsAt", errors)
        ends_text = read_str(alert, "endsAt", f"{path}.endsAt", errors)
        read_str(alert, "generatorURL", f"{path}.generatorURL", errors)
        starts_at = _moment(starts_text, f"{path}.startsAt", errors)
        ends_at = _moment(ends_text, f"{path}.endsAt", errors)
        if len(errors) > before:
            continue

        fingerprint = fingerprint.strip() or labels_fingerprint(labels)
        alert_key = fingerprint
        if starts_at is not None:
            alert_key = f"{fingerprint}@{starts_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
        resolved = status == "resolved"
        source = labels.get("instance") or labels.get("job") or external_url or receiver or ""
        events.append(
            AlertEvent(
                action="resolve" if resolved else "trigger",
                alert_key=alert_key,
                group_key=group_key,
                title=_title(labels, annotations, fingerprint),
                severity=severity_from_labels(labels),
                source=source[:255],
                details={
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": starts_text,
                    "endsAt": ends_text,
                    "fingerprint": fingerprint,
                },
                links=_links(alert, annotations),
                occurred_at=(ends_at if resolved and ends_at else starts_at),
                raw=alert,
            )
        )
    if errors:
        raise InvalidPayload(errors)
    return events
