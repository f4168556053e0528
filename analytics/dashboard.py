"""What the dashboard page shows: a handful of grouped queries, no per-row Python."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from analytics import load, metrics, noise
from analytics.filters import MetricFilter
from analytics.sla import sla_by_priority
from paging.response.models import ActionItem


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
        "overdue_items": overdue_action_items(),
        "quality": noise.alert_quality(flt=flt),
    }


def _minutes(seconds: float | None) -> float | None:
    # The unit of the whole page (analytics_format.minutes), one decimal.
    return None if seconds is None else round(seconds / 60, 1)


def overdue_action_items(*, limit: int = 50) -> list[dict[str, Any]]:
    """Open action items past their due date, oldest due first (whatever the period:
    an overdue item matters however old its incident)."""
    today = timezone.now().date()
    rows = (
        ActionItem.objects.filter(done_at__isnull=True, due_date__lt=today)
        .select_related("owner", "incident")
        .order_by("due_date", "id")[:limit]
    )
    return [
        {
            "id": a.pk,
            "title": a.title,
            "incident_id": a.incident_id,
            "incident_title": a.incident.title,
            "owner": a.owner.display_name if a.owner else "",
            "due_date": a.due_date,
            "days_overdue": (today - a.due_date).days if a.due_date else 0,
        }
        for a in rows
    ]
