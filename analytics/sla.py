"""SLA targets: which acknowledgement target applies to a (service, urgency), and
attainment of the response and resolution targets of each priority."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, DateTimeField, F, FloatField, Q, Value, When
from django.utils import timezone

from analytics.filters import MetricFilter, ack_time, incidents_in
from analytics.models import DEFAULT_ACK_TARGET_MINUTES, SlaTarget
from analytics.sqlfuncs import EpochSeconds
from paging.models import Incident
from paging.priorities import Level, level_of, priority_levels


def ack_targets() -> tuple[dict[tuple[int, str], int], dict[str, int | None]]:
    """(per-service targets {(service id, urgency): minutes}, defaults {urgency: minutes
    or None}), from one query. A per-service row beats the global (service-less) row,
    which beats DEFAULT_ACK_TARGET_MINUTES."""
    per_service: dict[tuple[int, str], int] = {}
    default: dict[str, int | None] = dict(DEFAULT_ACK_TARGET_MINUTES)
    for service_id, urgency, minutes in SlaTarget.objects.values_list(
        "service_id", "urgency", "ack_within_minutes"
    ):
        if service_id is None:
            default[urgency] = minutes
        else:
            per_service[(service_id, urgency)] = minutes
    return per_service, default


def _target_seconds(levels: list[Level], attribute: str) -> Case:
    """Each incident's target (seconds) from its priority, NULL without one."""
    whens = [
        When(priority=level.level, then=Value(getattr(level, attribute) * 60.0))
        for level in levels
        if getattr(level, attribute) is not None
    ]
    return Case(*whens, default=Value(None), output_field=FloatField())


def sla_by_priority(*, flt: MetricFilter) -> list[dict[str, Any]]:
    """Per priority: the share of incidents acknowledged and resolved within the
    response and resolution targets of their priority (one grouped query).

    Targets are the levels' as configured now. Acknowledgement (as ``sla_attainment``):
    met = first ack within the target; breached = acked later, or unacknowledged and
    still triggered past it; resolved without an ack counts for neither. Resolution:
    met = resolved within the target; breached = resolved later, or still open past it.
    Open incidents within their targets count for neither yet. Rows: every level in use
    (none of its incidents: zeros and no attainment), a level no longer in use that
    incidents still have, and ``priority: null`` for ungraded incidents (no targets).
    """
    levels = priority_levels()
    now = Value(timezone.now(), output_field=DateTimeField())
    rows = (
        incidents_in(flt=flt)
        .annotate(
            _tta=EpochSeconds(ack_time(), "created_at"),
            _ttr=EpochSeconds("resolved_at", "created_at"),
            _age=EpochSeconds(now, "created_at"),
            _ack_target=_target_seconds(levels, "ack_within_minutes"),
            _resolve_target=_target_seconds(levels, "resolve_within_minutes"),
        )
        .values("priority")
        .annotate(
            incidents=Count("id"),
            ack_met=Count("id", filter=Q(_tta__lte=F("_ack_target"))),
            ack_late=Count("id", filter=Q(_tta__gt=F("_ack_target"))),
            ack_overdue=Count(
                "id",
                filter=Q(
                    _tta__isnull=True,
                    status=Incident.Status.TRIGGERED,
                    _age__gt=F("_ack_target"),
                ),
            ),
            resolve_met=Count("id", filter=Q(_ttr__lte=F("_resolve_target"))),
            resolve_late=Count("id", filter=Q(_ttr__gt=F("_resolve_target"))),
            resolve_overdue=Count(
                "id", filter=Q(resolved_at__isnull=True, _age__gt=F("_resolve_target"))
            ),
        )
        .order_by()
    )
    found = {row["priority"]: row for row in rows}
    shown = [level.level for level in levels]
    shown += sorted(p for p in found if p is not None and p not in shown)
    out = [_priority_row(found.get(p, {}), p, level_of(p, levels)) for p in shown]
    if None in found:
        out.append(_priority_row(found[None], None, None))
    return out


def _priority_row(row: dict[str, Any], priority: int | None, level: Level | None) -> dict[str, Any]:
    ack_met, resolve_met = row.get("ack_met", 0), row.get("resolve_met", 0)
    ack_breached = row.get("ack_late", 0) + row.get("ack_overdue", 0)
    resolve_breached = row.get("resolve_late", 0) + row.get("resolve_overdue", 0)
    name = level.name if level is not None else f"P{priority}"
    return {
        "priority": priority,
        "code": f"P{priority}" if priority is not None else None,
        "name": name if priority is not None else "not graded",
        "incidents": row.get("incidents", 0),
        "ack_target_minutes": level.ack_within_minutes if level else None,
        "ack_met": ack_met,
        "ack_breached": ack_breached,
        "ack_attainment": ratio(ack_met, ack_met + ack_breached),
        "resolve_target_minutes": level.resolve_within_minutes if level else None,
        "resolve_met": resolve_met,
        "resolve_breached": resolve_breached,
        "resolve_attainment": ratio(resolve_met, resolve_met + resolve_breached),
    }


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
