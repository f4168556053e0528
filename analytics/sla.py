"""Which acknowledgement target applies to a (service, urgency)."""

from __future__ import annotations

from collections.abc import Callable

from analytics.models import DEFAULT_ACK_TARGET_MINUTES, SlaTarget


def ack_target_resolver() -> Callable[[int, str], int | None]:
    """A lookup (service id, urgency) -> minutes or None, from one query."""
    per_service: dict[tuple[int, str], int] = {}
    default: dict[str, int | None] = dict(DEFAULT_ACK_TARGET_MINUTES)
    for service_id, urgency, minutes in SlaTarget.objects.values_list(
        "service_id", "urgency", "ack_within_minutes"
    ):
        if service_id is None:
            default[urgency] = minutes
        else:
            per_service[(service_id, urgency)] = minutes

    def target(service_id: int, urgency: str) -> int | None:
        return per_service.get((service_id, urgency), default.get(urgency))

    return target
