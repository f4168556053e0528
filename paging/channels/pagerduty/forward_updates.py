"""PagerDuty follows the incidents forwarded to it: our ack or resolve is sent as an
Events API v2 acknowledge/resolve to every service the incident was forwarded to; the
``incident_changes`` tick step calls this (``ChangeFollower`` of kind ``pagerduty``)."""

from __future__ import annotations

import json
from collections import defaultdict

from paging.channels.incident_changes import Outgoing
from paging.channels.pagerduty.forwarding import KIND, follow_event
from paging.channels.pagerduty.models import PagerDutyForward
from paging.channels.pagerduty.webhooks import VIA
from paging.models import IncidentEvent

PAGERDUTY_ACTIONS: dict[str, str] = {
    IncidentEvent.Kind.ACKNOWLEDGED: "acknowledge",
    IncidentEvent.Kind.RESOLVED: "resolve",
}


def pagerduty_forward_updates(events: list[IncidentEvent]) -> list[Outgoing]:
    """An acknowledge/resolve per forward of each acked/resolved incident (one query)."""
    forwards: dict[int, list[PagerDutyForward]] = defaultdict(list)
    incident_ids = {e.incident_id for e in events if e.kind in PAGERDUTY_ACTIONS}
    for forward in PagerDutyForward.objects.filter(incident_id__in=incident_ids).order_by("pk"):
        forwards[forward.incident_id].append(forward)
    rows: list[Outgoing] = []
    for event in events:
        action = PAGERDUTY_ACTIONS.get(event.kind)
        # An ack that came from PagerDuty itself is not echoed back.
        if action is None or event.via == VIA:
            continue
        rows.extend(
            Outgoing(
                f"pagerduty-{action}:{forward.pk}:{event.pk}",
                KIND,
                forward.routing_key,
                json.dumps(follow_event(action=action, dedup_key=forward.dedup_key)),
            )
            for forward in forwards[event.incident_id]
        )
    return rows
