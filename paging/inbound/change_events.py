"""PagerDuty Change Events (``POST /v2/change/enqueue``) -> one ChangeSpec.

A change event says something changed (a deploy, a config change); it opens no incident
and has no dedup or actions. Validation follows PagerDuty's Events API wording:

- ``routing_key``: required, 32 characters (the token of a PagerDuty Events integration:
  the same key takes Events v2 and Change Events, as in PagerDuty);
- ``payload`` (required object): ``summary`` (required, <= 1024 characters),
  ``timestamp`` (ISO 8601, optional: when the change happened; default when received),
  ``source`` (optional string), ``custom_details`` (optional object);
- ``links[]`` {href (required), text}.
Unknown fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paging.inbound.fields import (
    InvalidPayload,
    read_links,
    read_object,
    read_str,
    read_timestamp,
)
from paging.inbound.pagerduty_events import read_routing_key

SUMMARY_MAX = 1024
SOURCE_MAX = 255


@dataclass(frozen=True)
class ChangeSpec:
    routing_key: str
    summary: str
    source: str = ""
    occurred_at: datetime | None = None
    custom_details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)


def change_event_parse(body: dict[str, Any]) -> ChangeSpec:
    """One Change Events body, or InvalidPayload naming each bad field."""
    errors: list[str] = []
    routing_key = read_routing_key(body, errors)
    if "payload" not in body or body.get("payload") is None:
        errors.append("'payload' is missing")
    payload = read_object(body, "payload", "payload", errors)
    summary = read_str(
        payload, "summary", "payload.summary", errors, required=True, max_length=SUMMARY_MAX
    )
    source = read_str(payload, "source", "payload.source", errors, max_length=SOURCE_MAX)
    occurred_at, _ = read_timestamp(payload, "timestamp", "payload.timestamp", errors)
    details = read_object(payload, "custom_details", "payload.custom_details", errors)
    links = read_links(body, "links", "links", errors)
    if errors:
        raise InvalidPayload(errors)
    return ChangeSpec(
        routing_key=routing_key,
        summary=summary.strip(),
        source=source.strip(),
        occurred_at=occurred_at,
        custom_details=details,
        links=links,
    )
