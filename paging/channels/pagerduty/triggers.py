"""A PagerDuty service as an escalation-step target: the step forwards the incident as
an Events API v2 trigger to the service's routing key (``TargetKind.post`` of kind
``pagerduty_service``)."""

from __future__ import annotations

import json

from paging.channels.escalation_targets import target_incident, target_message_enqueue
from paging.channels.pagerduty.forwarding import KIND, trigger_event
from paging.models import Message


def pagerduty_forward_trigger(*, incident_id: int, address: str, step: int, loop: int) -> Message:
    """Queue the Events API v2 trigger of ``incident_id`` on the PagerDuty service whose
    routing key is ``address``."""
    incident = target_incident(incident_id)
    return target_message_enqueue(
        incident=incident,
        idempotency_key=f"pagerduty-trigger:{incident_id}:{step}:{loop}:{address}",
        kind=KIND,
        destination=address,
        body=json.dumps(trigger_event(incident)),
        step=step,
        loop=loop,
        queued_text=f"PagerDuty trigger to service …{address[-4:]}",
    )
