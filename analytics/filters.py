"""The period and filters every metric takes, and the incident set they select."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from paging.models import Incident

BREAKDOWNS = ("none", "service", "team", "engineer", "day", "week", "month")
TIME_BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class MetricFilter:
    """Incidents triggered in ``[start, end)``, narrowed by the optional filters.

    ``engineer`` selects incidents that engineer acknowledged (the responder).
    Incidents opened during a maintenance window paged nobody and are left out.
    """

    start: datetime
    end: datetime
    tz: ZoneInfo = ZoneInfo("UTC")
    team: int | None = None
    service: int | None = None
    urgency: str | None = None
    severity: str | None = None
    engineer: int | None = None


def incidents_in(*, flt: MetricFilter) -> QuerySet[Incident]:
    qs = Incident.objects.filter(
        created_at__gte=flt.start, created_at__lt=flt.end, in_maintenance=False
    )
    if flt.team is not None:
        qs = qs.filter(service__team_id=flt.team)
    if flt.service is not None:
        qs = qs.filter(service_id=flt.service)
    if flt.urgency:
        qs = qs.filter(urgency=flt.urgency)
    if flt.severity:
        qs = qs.filter(severity=flt.severity)
    if flt.engineer is not None:
        qs = qs.filter(acknowledged_by_id=flt.engineer)
    return qs.order_by()


@cache
def ack_field() -> str:
    """The incident column holding the acknowledgement time MTTA is measured to.

    ``acknowledged_at`` is the latest ack: paging clears it when an ack times out and
    sets it again on the next ack. If paging adds ``first_acknowledged_at`` (kept once
    set), it is used instead so MTTA is "first acknowledgement" in every case.
    """
    names = {f.name for f in Incident._meta.get_fields()}
    return "first_acknowledged_at" if "first_acknowledged_at" in names else "acknowledged_at"
