"""Escalation step targets that are not people: a Slack channel, a PagerDuty service.

The paging engine calls these inside its step transaction (the incident row is
locked); each writes one idempotent outbox row belonging to the incident, so the
dispatcher sends it only while the incident is still triggered, and an ack cancels
it like any page. The key holds incident, step, loop and target: a re-run of the same
step in the same loop is a no-op, a later loop posts again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from paging.channels.pagerduty.forwarding import KIND as PAGERDUTY_KIND
from paging.channels.pagerduty.forwarding import trigger_event
from paging.channels.slack.blocks import incident_text
from paging.channels.slack.transport import KIND_CHANNEL
from paging.models import EscalationTarget, Incident, IncidentEvent, Message
from paging.notify import page_subject
from paging.outbox import message_enqueue_created
from paging.timeline import event_record


def _queued_record(message: Message, *, incident: Incident, text: str) -> None:
    event_record(
        incident_id=incident.pk,
        kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
        message_id=message.pk,
        via=message.kind,
        text=text,
    )


def _incident(incident_id: int) -> Incident:
    return Incident.objects.select_related("service").get(pk=incident_id)


def slack_channel_post(*, incident_id: int, channel: str, step: int, loop: int) -> Message:
    """Queue the Block Kit page for ``incident_id`` to the Slack ``channel``."""
    incident = _incident(incident_id)
    message, created = message_enqueue_created(
        idempotency_key=f"slack-channel:{incident_id}:{step}:{loop}:{channel}"[:255],
        purpose=Message.Purpose.PAGE,
        kind=KIND_CHANNEL,
        destination=channel,
        subject=page_subject(incident),
        body=incident_text(incident),
        incident_id=incident.pk,
        escalation_step=step,
        escalation_loop=loop,
    )
    if created:  # a re-run of the step in the same loop says nothing new
        _queued_record(message, incident=incident, text=f"Slack post to {channel}")
    return message


def pagerduty_forward_trigger(
    *, incident_id: int, routing_key: str, step: int, loop: int
) -> Message:
    """Queue the Events API v2 trigger of ``incident_id`` on the PagerDuty service."""
    incident = _incident(incident_id)
    message, created = message_enqueue_created(
        idempotency_key=f"pagerduty-trigger:{incident_id}:{step}:{loop}:{routing_key}"[:255],
        purpose=Message.Purpose.PAGE,
        kind=PAGERDUTY_KIND,
        destination=routing_key,
        subject=page_subject(incident),
        body=json.dumps(trigger_event(incident)),
        incident_id=incident.pk,
        escalation_step=step,
        escalation_loop=loop,
    )
    if created:
        _queued_record(
            message, incident=incident, text=f"PagerDuty trigger to service …{routing_key[-4:]}"
        )
    return message


CHANNEL_KINDS = (EscalationTarget.Kind.SLACK_CHANNEL, EscalationTarget.Kind.PAGERDUTY_SERVICE)


def channel_targets_post(
    *, incident_id: int, targets: Iterable[EscalationTarget], step: int, loop: int
) -> list[str]:
    """Queue a post for each Slack channel / PagerDuty service target of a step.

    Returns one note per target for the step's timeline line (empty: none of them).
    """
    notes: list[str] = []
    for target in targets:
        if target.kind == EscalationTarget.Kind.SLACK_CHANNEL and target.address:
            slack_channel_post(
                incident_id=incident_id, channel=target.address, step=step, loop=loop
            )
            notes.append(f"Slack channel {target.address}")
        elif target.kind == EscalationTarget.Kind.PAGERDUTY_SERVICE and target.address:
            pagerduty_forward_trigger(
                incident_id=incident_id, routing_key=target.address, step=step, loop=loop
            )
            notes.append(f"PagerDuty service …{target.address[-4:]}")
    return notes
