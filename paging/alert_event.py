"""The normalised alert event: what every inbound parser produces and ingest consumes.

Parsers (Alertmanager, PagerDuty Events v2, generic webhook) only turn a request body
into a list of these; ``paging.ingest.alerts_ingest`` decides what they do to incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Action = Literal["trigger", "acknowledge", "resolve"]
Severity = Literal["critical", "error", "warning", "info"]


@dataclass(frozen=True)
class AlertEvent:
    action: Action
    # Identity of one alert (Alertmanager: fingerprint + startsAt episode;
    # PagerDuty / webhook: the dedup_key).
    alert_key: str
    # The incident it belongs to when grouping by group (Alertmanager: groupKey;
    # PagerDuty / webhook: the dedup_key, same as alert_key).
    group_key: str
    title: str = ""
    severity: Severity = "critical"
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    occurred_at: datetime | None = None
    # 1 (P1) .. 5, or None: ungraded. The incident this alert opens takes it (and the
    # service's policy for it, ``paging.priority_policy``); joining alerts leave it.
    priority: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the original alert, for the record
