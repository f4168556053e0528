"""Generic JSON webhook (``POST /integrations/webhook/<token>/``) -> one AlertEvent.

Body (a JSON object; unknown fields are ignored):

========== ========= ======================================================================
field      required  meaning
========== ========= ======================================================================
title      firing    string, at most 1024 characters: the incident title
status     no        ``firing`` (default) or ``resolved``
dedup_key  resolved  string, at most 255 characters: the alert identity. Same key while
                     open = same incident. Generated (32 hex digits) when a firing event
                     omits it; the response returns it so the sender can resolve later
severity   no        ``critical`` (default) | ``error`` | ``warning`` | ``info``
details    no        object, stored as is
links      no        array of {"href": string (required), "text": string}
source     no        string: where the alert comes from
timestamp  no        RFC 3339 time the event happened (default: when received)
========== ========= ======================================================================
"""

from __future__ import annotations

import uuid
from typing import Any

from paging.alert_event import AlertEvent, Severity
from paging.inbound.fields import (
    InvalidPayload,
    read_links,
    read_object,
    read_str,
    read_timestamp,
)

TITLE_MAX = 1024
DEDUP_KEY_MAX = 255
SOURCE_MAX = 255
DEFAULT_SEVERITY: Severity = "critical"
SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning", "info")
STATUSES = ("firing", "resolved")


def webhook_parse(body: dict[str, Any]) -> AlertEvent:
    """The generic webhook body as one AlertEvent, or InvalidPayload."""
    errors: list[str] = []
    status = read_str(body, "status", "status", errors, default="firing")
    if status not in STATUSES:
        errors.append(f"'status' must be 'firing' or 'resolved', not {status[:32]!r}")
    firing = status != "resolved"
    title = read_str(body, "title", "title", errors, required=firing, max_length=TITLE_MAX)
    dedup_key = read_str(body, "dedup_key", "dedup_key", errors, max_length=DEDUP_KEY_MAX)
    if not firing and not dedup_key.strip():
        errors.append("'dedup_key' is missing or blank (required when status is 'resolved')")
    severity = read_str(body, "severity", "severity", errors, default=DEFAULT_SEVERITY)
    if severity not in SEVERITIES:
        errors.append(
            f"'severity' must be one of critical, error, warning, info, not {severity[:32]!r}"
        )
    details = read_object(body, "details", "details", errors)
    links = read_links(body, "links", "links", errors)
    source = read_str(body, "source", "source", errors)
    occurred_at, _ = read_timestamp(body, "timestamp", "timestamp", errors)
    if errors:
        raise InvalidPayload(errors)

    key = dedup_key.strip() or uuid.uuid4().hex
    return AlertEvent(
        action="trigger" if firing else "resolve",
        alert_key=key,
        group_key=key,
        title=title.strip(),
        severity=severity,  # type: ignore[arg-type]  # checked against SEVERITIES above
        source=source.strip()[:SOURCE_MAX],
        details=details,
        links=links,
        occurred_at=occurred_at,
        raw=body,
    )
