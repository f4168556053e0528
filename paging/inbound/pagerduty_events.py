"""PagerDuty Events API v2 (``POST /v2/enqueue``) -> one AlertEvent.

Validation follows PagerDuty's own rules and wording, so clients that parse its
``errors`` list keep working:

- ``routing_key``: required string of exactly 32 characters (an integration token);
- ``event_action``: ``trigger`` | ``acknowledge`` | ``resolve``;
- ``dedup_key``: string of at most 255 characters; required for acknowledge and
  resolve; when a trigger omits it, one is generated (32 hex digits) and returned;
- trigger only: ``payload`` object with ``summary`` (required, <= 1024 characters),
  ``source`` (required), ``severity`` (required: critical | error | warning | info),
  ``timestamp`` (ISO 8601, optional), ``component``, ``group``, ``class`` (strings),
  ``custom_details`` (any JSON); ``links[]`` {href, text}; ``images[]`` {src, href,
  alt}; ``client``, ``client_url``. The payload of acknowledge/resolve is ignored.
- ``payload.custom_details.priority`` (our extension; PagerDuty has no priority in
  events): a string or a number naming a priority (``P1``, ``1``, a level's name such as
  ``SEV1``); blank or absent = none. It is read here; the view checks it against the
  levels in use (``paging.priorities.priority_parse``). ``payload.severity`` alone never
  sets a priority (severity sets urgency; grade by severity with an alert rule).
Unknown fields are ignored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from paging.alert_event import AlertEvent, Severity
from paging.inbound.fields import (
    InvalidPayload,
    read_links,
    read_object,
    read_str,
    read_timestamp,
    type_name,
)

ROUTING_KEY_LENGTH = 32
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
SOURCE_MAX = 255
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning", "info")


@dataclass(frozen=True)
class PagerDutyEvent:
    routing_key: str
    event: AlertEvent
    # ``payload.custom_details.priority`` as sent (a string or a number), None if absent.
    priority: str | int | None = None
    PRIORITY_PATH = "payload.custom_details.priority"


def _priority(payload: dict[str, Any], errors: list[str]) -> str | int | None:
    custom = payload.get("custom_details")
    value = custom.get("priority") if isinstance(custom, dict) else None
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    errors.append(
        f"'{PagerDutyEvent.PRIORITY_PATH}' must be a string or a number, not {type_name(value)}"
    )
    return None


def _images(body: dict[str, Any], errors: list[str]) -> list[dict[str, str]]:
    value = body.get("images")
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"'images' must be an array, not {type_name(value)}")
        return []
    images = []
    for index, item in enumerate(value):
        path = f"images[{index}]"
        if not isinstance(item, dict):
            errors.append(f"'{path}' must be an object, not {type_name(item)}")
            continue
        src = read_str(item, "src", f"{path}.src", errors, required=True)
        href = read_str(item, "href", f"{path}.href", errors)
        alt = read_str(item, "alt", f"{path}.alt", errors)
        if src:
            images.append({"src": src, "href": href, "alt": alt})
    return images


def read_routing_key(body: dict[str, Any], errors: list[str]) -> str:
    """``routing_key``: required, 32 ASCII letters or digits (PagerDuty's wording)."""
    routing_key = read_str(body, "routing_key", "routing_key", errors, required=True)
    if routing_key and len(routing_key) != ROUTING_KEY_LENGTH:
        errors.append(
            f"Length of 'routing_key' is incorrect (should be {ROUTING_KEY_LENGTH} characters)"
        )
    if routing_key and not (routing_key.isascii() and routing_key.isalnum()):
        errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    return routing_key


def pagerduty_event_parse(body: dict[str, Any]) -> PagerDutyEvent:
    """One Events v2 body as (routing key, AlertEvent), or InvalidPayload."""
    errors: list[str] = []
    routing_key = read_routing_key(body, errors)
    action = read_str(body, "event_action", "event_action", errors, required=True)
    if action and action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = read_str(body, "dedup_key", "dedup_key", errors, max_length=DEDUP_KEY_MAX)
    if action in ("acknowledge", "resolve") and not dedup_key.strip():
        errors.append("'dedup_key' is missing or blank (required for acknowledge and resolve)")

    if action != "trigger":
        if errors:
            raise InvalidPayload(errors)
        return PagerDutyEvent(
            routing_key=routing_key,
            event=AlertEvent(
                action="acknowledge" if action == "acknowledge" else "resolve",
                alert_key=dedup_key,
                group_key=dedup_key,
                raw=body,
            ),
        )

    if "payload" not in body or body.get("payload") is None:
        errors.append("'payload' is missing")
    payload = read_object(body, "payload", "payload", errors)
    summary = read_str(
        payload, "summary", "payload.summary", errors, required=True, max_length=SUMMARY_MAX
    )
    source = read_str(payload, "source", "payload.source", errors, required=True)
    severity = read_str(payload, "severity", "payload.severity", errors, required=True)
    if severity and severity not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        )
    occurred_at, _ = read_timestamp(payload, "timestamp", "payload.timestamp", errors)
    extras = {
        name: read_str(payload, name, f"payload.{name}", errors)
        for name in ("component", "group", "class")
    }
    links = read_links(body, "links", "links", errors)
    images = _images(body, errors)
    client = read_str(body, "client", "client", errors)
    client_url = read_str(body, "client_url", "client_url", errors)
    priority = _priority(payload, errors)
    if errors:
        raise InvalidPayload(errors)

    if client_url:
        links.append({"href": client_url, "text": client or "Client"})
    details: dict[str, Any] = {k: v for k, v in extras.items() if v}
    if "custom_details" in payload:
        details["custom_details"] = payload["custom_details"]
    if images:
        details["images"] = images
    if client:
        details["client"] = client
    key = dedup_key if dedup_key.strip() else uuid.uuid4().hex
    return PagerDutyEvent(
        routing_key=routing_key,
        event=AlertEvent(
            action="trigger",
            alert_key=key,
            group_key=key,
            title=summary.strip(),
            severity=severity,  # type: ignore[arg-type]  # checked against SEVERITIES above
            source=source.strip()[:SOURCE_MAX],
            details=details,
            links=links,
            occurred_at=occurred_at,
            raw=body,
        ),
        priority=priority,
    )
