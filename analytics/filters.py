"""The period and filters every metric takes, and the incident set they select."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, F, QuerySet, When
from django.db.models.functions import Coalesce

from paging.models import Incident

BREAKDOWNS = ("none", "service", "team", "engineer", "priority", "day", "week", "month")
TIME_BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class MetricFilter:
    """Incidents triggered in ``[start, end)``, narrowed by the optional filters.

    ``engineer`` selects the incidents whose MTTA that engineer is credited with: they
    acknowledged first (``responder``).
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
    priority: int | None = None


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
    if flt.priority is not None:
        qs = qs.filter(priority=flt.priority)
    if flt.engineer is not None:
        qs = qs.alias(_responder=responder()).filter(_responder=flt.engineer)
    return qs.order_by()


@cache
def _has_first_ack() -> bool:
    return "first_acknowledged_at" in {f.name for f in Incident._meta.get_fields()}


def ack_time() -> Any:
    """The acknowledgement time MTTA is measured to: the first acknowledgement.

    ``first_acknowledged_at`` is kept across ack timeouts; ``acknowledged_at`` is the
    latest ack (cleared when an ack times out). Rows acknowledged before paging kept
    the first one have only ``acknowledged_at``, hence the fallback.
    """
    if _has_first_ack():
        return Coalesce(F("first_acknowledged_at"), F("acknowledged_at"))
    return F("acknowledged_at")


def responder(prefix: str = "") -> Any:
    """The engineer MTTA is credited to: whoever gave the acknowledgement ``ack_time``
    measures, i.e. the first one (``first_acknowledged_by``, kept across ack timeouts),
    or ``acknowledged_by`` on rows from before the first ack was kept. ``prefix`` walks
    from another model to the incident (``incident__``)."""
    p = prefix
    return Case(
        When(
            **{f"{p}first_acknowledged_at__isnull": False}, then=F(f"{p}first_acknowledged_by_id")
        ),
        default=F(f"{p}acknowledged_by_id"),
    )
