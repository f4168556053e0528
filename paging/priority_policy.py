"""Which escalation policy an incident follows, given its service and priority.

A service may name a policy per priority (``ServicePriorityPolicy``: P1 -> a 5-minute
policy); every other priority, and an incident without one, follows the service's own
policy. Used where an incident's policy is chosen: at ingest, and when a person changes
the priority of an unacknowledged incident (``paging.incident_actions.incident_set_priority``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from paging.models import Incident, Service, ServicePriorityPolicy


def priority_policies(*, service_id: int, priorities: Iterable[int | None]) -> dict[int, int]:
    """{priority: policy id} of the service's per-priority policies among ``priorities``;
    no query when none of them is a priority (the ingest of ungraded alerts)."""
    wanted = {p for p in priorities if p is not None}
    if not wanted:
        return {}
    rows = ServicePriorityPolicy.objects.filter(service_id=service_id, priority__in=wanted)
    return dict(rows.values_list("priority", "escalation_policy_id"))


def policy_for(
    *, service: Service, priority: int | None, by_priority: Mapping[int, int] | None = None
) -> int | None:
    """The policy id an incident of ``service`` with ``priority`` follows (None: no policy).

    ``by_priority`` is what ``priority_policies`` returned for the priorities at hand
    (looked up here when not given).
    """
    if priority is None:
        return service.escalation_policy_id
    if by_priority is None:
        by_priority = priority_policies(service_id=service.pk, priorities=[priority])
    return by_priority.get(priority, service.escalation_policy_id)


def priority_policy_move(*, incident: Incident, priority: int | None) -> int | None:
    """The policy id ``incident`` moves to when its priority becomes ``priority``, or None
    when it keeps its policy.

    It moves only while triggered (nobody has acknowledged it since it last paged: an
    acknowledged incident has a responder, and keeps its policy for an ack timeout),
    only if it still follows the policy its old priority chose (one a person reassigned
    it to stays), and only to a policy (a priority without one of its own means the
    service's policy).
    """
    if incident.status != Incident.Status.TRIGGERED:
        return None
    service = incident.service
    by_priority = priority_policies(service_id=service.pk, priorities=[incident.priority, priority])
    chosen = policy_for(service=service, priority=incident.priority, by_priority=by_priority)
    if incident.escalation_policy_id != chosen:
        return None
    new = policy_for(service=service, priority=priority, by_priority=by_priority)
    return new if new is not None and new != incident.escalation_policy_id else None


def more_urgent(priority: int | None, *, than: int | None) -> bool:
    """Whether ``priority`` is more urgent than ``than`` (P1 first; ungraded last). A move
    to a more urgent priority's policy pages now; to a less urgent one, not sooner than
    the old policy's next step would have."""
    return (priority or 6) < (than or 6)
