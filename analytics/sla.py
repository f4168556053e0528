"""Which acknowledgement target applies to a (service, urgency)."""

from __future__ import annotations

from analytics.models import DEFAULT_ACK_TARGET_MINUTES, SlaTarget


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
