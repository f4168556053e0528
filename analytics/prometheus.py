"""Prometheus text exposition (format 0.0.4), written by hand from database counts.

Every value is read from the database at scrape time, so every gunicorn worker
answers the same (no per-process registries, no multiprocess directory to manage),
and the project takes no new dependency for ~80 lines of text formatting.
Counters are counts of timeline events and outbox rows, so they only grow while
rows are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from analytics.filters import ack_time
from analytics.sqlfuncs import EpochSeconds
from paging.models import EngineHeartbeat, Incident, IncidentEvent, Message

# Seconds. Chosen around the targets (ack within 5 min, resolve within 30 min).
TTA_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600)
TTR_BUCKETS = (300, 600, 1800, 3600, 7200, 14400, 43200, 86400)

EVENT_COUNTERS = {
    "incidents_triggered_total": (
        IncidentEvent.Kind.TRIGGERED,
        "Incidents opened (timeline 'triggered' events).",
    ),
    "incidents_acknowledged_total": (
        IncidentEvent.Kind.ACKNOWLEDGED,
        "Acknowledgements (an incident re-triggered by an ack timeout can count twice).",
    ),
    "incidents_resolved_total": (IncidentEvent.Kind.RESOLVED, "Incidents resolved."),
    "escalation_steps_total": (
        IncidentEvent.Kind.ESCALATION_STEP,
        "Escalation policy steps run by the engine.",
    ),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return repr(float(value))


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _histogram(name: str, help_text: str, field: Any, buckets: Iterable[int]) -> list[str]:
    buckets = tuple(buckets)
    qs = Incident.objects.order_by().annotate(_s=EpochSeconds(field, "created_at"))
    aggregates = {f"le_{b}": Count("id", filter=Q(_s__lte=b)) for b in buckets}
    row = qs.filter(_s__isnull=False).aggregate(total=Count("id"), sum=Sum("_s"), **aggregates)
    lines = _header(name, "histogram", help_text)
    for b in buckets:
        lines.append(f'{name}_bucket{{le="{b}"}} {row[f"le_{b}"]}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {row["total"]}')
    lines.append(f"{name}_sum {_fmt(round(row['sum'] or 0.0, 3))}")
    lines.append(f"{name}_count {row['total']}")
    return lines


def exposition() -> str:
    lines: list[str] = []
    counts = dict(
        IncidentEvent.objects.order_by()
        .filter(kind__in=[kind for kind, _ in EVENT_COUNTERS.values()])
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    for name, (kind, help_text) in EVENT_COUNTERS.items():
        lines += _header(name, "counter", help_text)
        lines.append(f"{name} {counts.get(kind, 0)}")

    name = "notifications_sent_total"
    lines += _header(
        name, "counter", "Outgoing messages by channel and result (success = sent or delivered)."
    )
    rows = (
        Message.objects.order_by()
        .values("kind")
        .annotate(
            success=Count(
                "id", filter=Q(status__in=[Message.Status.SENT, Message.Status.DELIVERED])
            ),
            failure=Count("id", filter=Q(status=Message.Status.FAILED)),
        )
        .order_by("kind")
    )
    for row in rows:
        channel = _escape(row["kind"])
        lines.append(f'{name}{{channel="{channel}",result="success"}} {row["success"]}')
        lines.append(f'{name}{{channel="{channel}",result="failure"}} {row["failure"]}')

    lines += _histogram(
        "incident_time_to_acknowledge_seconds",
        "Trigger to acknowledgement of acknowledged incidents.",
        ack_time(),
        TTA_BUCKETS,
    )
    lines += _histogram(
        "incident_time_to_resolve_seconds",
        "Trigger to resolution of resolved incidents.",
        "resolved_at",
        TTR_BUCKETS,
    )

    now = timezone.now()
    lines += _header(
        "engine_tick_lag_seconds", "gauge", "Seconds since the engine's last tick finished."
    )
    beats = list(EngineHeartbeat.objects.order_by("name"))
    for beat in beats:
        lag = max(0.0, (now - beat.last_tick_at).total_seconds())
        lines.append(
            f'engine_tick_lag_seconds{{engine="{_escape(beat.name)}"}} {_fmt(round(lag, 3))}'
        )
    lines += _header(
        "engine_tick_duration_seconds", "gauge", "How long the engine's last tick took."
    )
    for beat in beats:
        lines.append(
            f'engine_tick_duration_seconds{{engine="{_escape(beat.name)}"}} '
            f"{_fmt(round(beat.last_tick_ms / 1000, 6))}"
        )
    return "\n".join(lines) + "\n"
