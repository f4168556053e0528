"""Incident response metrics: MTTA/MTTR, escalation rate, time to first page, SLA.

Conventions (stated once, tested in tests/analytics):
- MTTA = first acknowledgement - trigger; MTTR = resolve - trigger; wall-clock seconds.
- An incident resolved without an acknowledgement is left out of MTTA (as PagerDuty
  does) and counted in ``resolved_without_ack``; it is in MTTR. Open incidents are in
  neither. (Opsgenie instead uses the close time as the ack time.)
- The period selects incidents by trigger time, ``[start, end)``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from analytics.filters import MetricFilter, ack_time, incidents_in
from analytics.sla import ack_targets, ratio
from analytics.sqlfuncs import EpochSeconds
from analytics.stats import grouped_duration_stats
from paging.channels.console import ConsoleChannel
from paging.models import Incident, Message

CONSOLE = ConsoleChannel.name

# Message statuses that mean the provider accepted the page.
DELIVERED_STATUSES = (Message.Status.SENT, Message.Status.DELIVERED)


def response_times(
    *, flt: MetricFilter, by: str = "none", with_escalation: bool = False
) -> list[dict[str, Any]]:
    """MTTA and MTTR (count, mean, p50, p90, p95 in seconds) per group.

    ``with_escalation`` adds the escalation counts from the same scan (the dashboard).
    """
    counts: dict[str, Any] = {
        "incidents": Count("id"),
        "resolved": Count("id", filter=Q(resolved_at__isnull=False)),
        "resolved_without_ack": Count(
            "id", filter=Q(resolved_at__isnull=False, _d_mtta__isnull=True)
        ),
    }
    if with_escalation:
        counts["escalated"] = Count("id", filter=escalated_q())
    rows = grouped_duration_stats(
        qs=incidents_in(flt=flt),
        by=by,
        tz=flt.tz,
        durations={
            "mtta": EpochSeconds(ack_time(), "created_at"),
            "mttr": EpochSeconds("resolved_at", "created_at"),
        },
        counts=counts,
    )
    if with_escalation:
        for row in rows:
            row["escalation_rate"] = ratio(row["escalated"], row["incidents"])
    return rows


def escalated_q() -> Q:
    """Incidents that needed more than the first step.

    ``escalation_step`` is the next step to run, so > 1 means step 2 ran; a loop > 0
    means the policy ran again (repeat, ack timeout, manual escalation after the end).
    """
    return Q(escalation_step__gt=1) | Q(escalation_loop__gt=0)


def escalation_rate(*, flt: MetricFilter, by: str = "none") -> list[dict[str, Any]]:
    rows = grouped_duration_stats(
        qs=incidents_in(flt=flt),
        by=by,
        tz=flt.tz,
        durations={},
        counts={"incidents": Count("id"), "escalated": Count("id", filter=escalated_q())},
    )
    for row in rows:
        row["escalation_rate"] = ratio(row["escalated"], row["incidents"])
    return rows


def time_to_first_page(*, flt: MetricFilter, by: str = "none") -> list[dict[str, Any]]:
    """Trigger -> first page accepted by a provider (incidents that paged someone)."""
    first_sent = (
        Message.objects.filter(
            incident_id=OuterRef("pk"),
            purpose=Message.Purpose.PAGE,
            status__in=DELIVERED_STATUSES,
            sent_at__isnull=False,
        )
        .order_by()
        .values("incident_id")
        .annotate(first=Min("sent_at"))
        .values("first")
    )
    qs = incidents_in(flt=flt).annotate(_first_page_at=Subquery(first_sent))
    return grouped_duration_stats(
        qs=qs,
        by=by,
        tz=flt.tz,
        durations={"time_to_first_page": EpochSeconds("_first_page_at", "created_at")},
    )


def delivery_rates(*, flt: MetricFilter) -> list[dict[str, Any]]:
    """Per channel (contact method kind): pages accepted / pages attempted.

    Pages the console channel took (no provider configured for their kind) are their
    own channel, "console": they reached nobody's phone or inbox.

    Attempted = sent, delivered or failed; pending, cancelled (after an ack) and
    bundled (throttled into a summary) pages were never attempted on their own.
    ``sent`` counts as delivered when the provider sends no delivery receipt.
    """
    qs = (
        Message.objects.filter(
            purpose=Message.Purpose.PAGE,
            incident__in=incidents_in(flt=flt).values("pk"),
            # Redundant but cheap: a page is never due before its incident triggered,
            # so most outbox rows are dropped before the join.
            due_at__gte=flt.start,
        )
        .order_by()
        .annotate(
            channel=Case(
                When(transport=CONSOLE, then=Value(CONSOLE)),
                default=F("kind"),
                output_field=CharField(),
            )
        )
        .values("channel")
        .annotate(
            delivered=Count("id", filter=Q(status__in=DELIVERED_STATUSES)),
            failed=Count("id", filter=Q(status=Message.Status.FAILED)),
            cancelled=Count("id", filter=Q(status=Message.Status.CANCELLED)),
            pending=Count(
                "id", filter=Q(status__in=[Message.Status.PENDING, Message.Status.SENDING])
            ),
        )
        .order_by("channel")
    )
    out = []
    for row in qs:
        attempted = row["delivered"] + row["failed"]
        out.append(
            {
                "channel": row["channel"],
                **{k: row[k] for k in ("delivered", "failed", "cancelled", "pending")},
                "attempted": attempted,
                "delivery_rate": ratio(row["delivered"], attempted),
            }
        )
    return out


def sla_attainment(*, flt: MetricFilter) -> list[dict[str, Any]]:
    """Per service and urgency: incidents acknowledged within their target.

    Target: the service's SlaTarget for that urgency, else the global one (service
    empty), else DEFAULT_ACK_TARGET_MINUTES (high: 5 min; low: none -> not counted).
    Met = acknowledged within the target. Breached = acknowledged later, or still
    unacknowledged and open past the target. Resolved without an ack: neither (the
    MTTA convention). One grouped query: each row's target is a CASE expression.
    """
    per_service, default = ack_targets()
    whens = [
        When(service_id=service_id, urgency=urgency, then=Value(minutes * 60))
        for (service_id, urgency), minutes in per_service.items()
        if minutes is not None
    ] + [
        When(urgency=urgency, then=Value(minutes * 60))
        for urgency, minutes in default.items()
        if minutes is not None
    ]
    if not whens:
        return []
    now = timezone.now()
    rows = (
        incidents_in(flt=flt)
        .annotate(
            _tta=EpochSeconds(ack_time(), "created_at"),
            _target=Case(*whens, default=Value(None), output_field=FloatField()),
            _age=EpochSeconds(Value(now, output_field=DateTimeField()), "created_at"),
        )
        .filter(_target__isnull=False)
        .values("service_id", "service__name", "urgency", "_target")
        .annotate(
            met=Count("id", filter=Q(_tta__lte=F("_target"))),
            late=Count("id", filter=Q(_tta__gt=F("_target"))),
            overdue=Count(
                "id",
                filter=Q(
                    _tta__isnull=True,
                    status=Incident.Status.TRIGGERED,
                    _age__gt=F("_target"),
                ),
            ),
        )
        .order_by("service__name", "urgency")
    )
    out = []
    for row in rows:
        breached = row["late"] + row["overdue"]
        out.append(
            {
                "service_id": row["service_id"],
                "service_name": row["service__name"],
                "urgency": row["urgency"],
                "ack_target_minutes": round(row["_target"] / 60),
                "met": row["met"],
                "breached": breached,
                "attainment": ratio(row["met"], row["met"] + breached),
            }
        )
    return out
