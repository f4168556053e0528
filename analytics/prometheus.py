"""Prometheus text exposition (format 0.0.4), written by hand from database counts.

Every value is read from the database at scrape time, so every gunicorn worker
answers the same (no per-process registries, no multiprocess directory to manage),
and the project takes no new dependency for ~100 lines of text formatting.
Counters count rows that are never un-set (incidents, their first acknowledgement and
resolution, escalation-step timeline lines, outbox rows), so they only grow while rows
are kept; the engine step failure counter is a stored count (``EngineStep``). Three
scans per scrape: incidents, timeline, outbox, plus the small heartbeat and step tables.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from analytics.filters import ack_time
from analytics.sqlfuncs import EpochSeconds
from paging.engine import tick_steps
from paging.inbound.rate_limit import rate_limited_totals
from paging.models import EngineHeartbeat, EngineStep, Incident, IncidentEvent, Message

# Seconds. Chosen around the targets (ack within 5 min, resolve within 30 min).
TTA_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600)
TTR_BUCKETS = (300, 600, 1800, 3600, 7200, 14400, 43200, 86400)

HISTOGRAMS = (
    # name, help, column of the per-incident durations, buckets
    (
        "incident_time_to_acknowledge_seconds",
        "Trigger to first acknowledgement of acknowledged incidents.",
        "tta",
        TTA_BUCKETS,
    ),
    (
        "incident_time_to_resolve_seconds",
        "Trigger to resolution of resolved incidents.",
        "ttr",
        TTR_BUCKETS,
    ),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return repr(float(value))


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _incident_figures() -> dict[str, Any]:
    """Counts, bucket counts and sums over every incident, in one scan.

    The durations are computed once per row in a derived table (OFFSET 0 keeps
    PostgreSQL from inlining it, which would recompute them for each of the ~20
    conditional counts), and the counts compare plain columns.
    """
    inner = (
        Incident.objects.order_by()
        .annotate(
            tta=EpochSeconds(ack_time(), "created_at"),
            ttr=EpochSeconds("resolved_at", "created_at"),
        )
        .values("tta", "ttr")
    )
    inner_sql, params = inner.query.sql_with_params()
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    columns = ["COUNT(*)"]
    names = ["total"]
    for _name, _help, key, buckets in HISTOGRAMS:
        columns += [f"COUNT({key})", f"SUM({key})"]
        names += [f"{key}_count", f"{key}_sum"]
        for b in buckets:
            # int() of a module constant: nothing user-provided reaches the SQL text.
            columns.append(f"SUM(CASE WHEN {key} <= {int(b)} THEN 1 ELSE 0 END)")
            names.append(f"{key}_le_{b}")
    sql = f"SELECT {', '.join(columns)} FROM ({inner_sql}{fence}) AS durations"  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, params)
        values = cur.fetchone()
    return {name: (value or 0) for name, value in zip(names, values, strict=True)}


def exposition() -> str:
    lines: list[str] = []
    figures = _incident_figures()
    for name, key, help_text in (
        ("incidents_triggered_total", "total", "Incidents opened."),
        ("incidents_acknowledged_total", "tta_count", "Incidents acknowledged (first ack)."),
        ("incidents_resolved_total", "ttr_count", "Incidents resolved."),
    ):
        lines += _header(name, "counter", help_text)
        lines.append(f"{name} {figures[key]}")

    steps = IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ESCALATION_STEP).count()
    lines += _header(
        "escalation_steps_total", "counter", "Escalation policy steps run by the engine."
    )
    lines.append(f"escalation_steps_total {steps}")

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

    for name, help_text, key, buckets in HISTOGRAMS:
        lines += _header(name, "histogram", help_text)
        for b in buckets:
            lines.append(f'{name}_bucket{{le="{b}"}} {figures[f"{key}_le_{b}"]}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {figures[f"{key}_count"]}')
        lines.append(f"{name}_sum {_fmt(round(figures[f'{key}_sum'], 3))}")
        lines.append(f"{name}_count {figures[f'{key}_count']}")

    now = timezone.now()
    beats = list(EngineHeartbeat.objects.order_by("name"))
    lines += _header(
        "engine_tick_lag_seconds", "gauge", "Seconds since the engine's last tick finished."
    )
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
    lines += _engine_step_failures()
    lines += _auth_failures()
    lines += _inbound_rate_limited()
    return "\n".join(lines) + "\n"


def _inbound_rate_limited() -> list[str]:
    """Requests refused (429) by each integration's rate limit, from its bucket row."""
    name = "oncall_inbound_rate_limited_total"
    lines = _header(
        name,
        "counter",
        "Inbound requests answered 429 by the integration's rate limit (nothing stored).",
    )
    for integration, refused in rate_limited_totals():
        labels = (
            f'integration="{integration.pk}",kind="{_escape(integration.kind)}",'
            f'service="{_escape(integration.service.name)}",name="{_escape(integration.name)}"'
        )
        lines.append(f"{name}{{{labels}}} {refused}")
    return lines


def _auth_failures() -> list[str]:
    """Failed logins and API tokens, and lock-outs, from django-axes' failure log."""
    from axes.models import AccessFailureLog

    counts = AccessFailureLog.objects.aggregate(
        failures=Count("id"), lockouts=Count("id", filter=Q(locked_out=True))
    )
    lines = _header(
        "oncall_auth_failures_total",
        "counter",
        "Failed logins (admin, API login) and failed API tokens.",
    )
    lines.append(f"oncall_auth_failures_total {counts['failures']}")
    lines += _header(
        "oncall_auth_lockouts_total",
        "counter",
        "Failures that locked a client address or username out (then 429 until it expires).",
    )
    lines.append(f"oncall_auth_lockouts_total {counts['lockouts']}")
    return lines


def _engine_step_failures() -> list[str]:
    """Every registered step (0 until it first fails), and any other step with a row."""
    name = "oncall_engine_step_failures_total"
    counts = {step.name: 0 for step in tick_steps()}
    counts.update(EngineStep.objects.values_list("name", "failures_total"))
    lines = _header(
        name,
        "counter",
        "Exceptions raised by each engine tick step (logged; the tick went on without it).",
    )
    for step in sorted(counts):
        lines.append(f'{name}{{step="{_escape(step)}"}} {counts[step]}')
    return lines
