"""What the dashboard page shows: a handful of grouped queries, no per-row Python."""

from __future__ import annotations

from typing import Any

from analytics import load, metrics, noise
from analytics.filters import MetricFilter
from analytics.sla import sla_by_priority


def dashboard_context(*, flt: MetricFilter, bucket: str) -> dict[str, Any]:
    # One scan gives the headline figures and the escalation rate.
    overall = metrics.response_times(flt=flt, with_escalation=True)[0]
    over_time = metrics.response_times(flt=flt, by=bucket)
    per_service = metrics.response_times(flt=flt, by="service")
    chart = {
        "labels": [r["bucket"] for r in over_time],
        "mtta_mean": [_minutes(r["mtta"]["mean"]) for r in over_time],
        "mtta_p90": [_minutes(r["mtta"]["p90"]) for r in over_time],
        "mttr_mean": [_minutes(r["mttr"]["mean"]) for r in over_time],
        "mttr_p90": [_minutes(r["mttr"]["p90"]) for r in over_time],
        "services": [r["service_name"] for r in per_service],
        "service_mtta": [_minutes(r["mtta"]["mean"]) for r in per_service],
        "service_mttr": [_minutes(r["mttr"]["mean"]) for r in per_service],
    }
    return {
        "flt": flt,
        "bucket": bucket,
        "overall": overall,
        "escalation": overall,
        "per_service": per_service,
        "delivery": metrics.delivery_rates(flt=flt),
        "sla": metrics.sla_attainment(flt=flt),
        "sla_priority": sla_by_priority(flt=flt),
        "load": load.oncall_load(
            start=flt.start, end=flt.end, team=flt.team, engineer=flt.engineer
        ),
        "chart": chart,
        "quality": noise.alert_quality(flt=flt),
    }


def _minutes(seconds: float | None) -> float | None:
    # The unit of the whole page (analytics_format.minutes), one decimal.
    return None if seconds is None else round(seconds / 60, 1)
