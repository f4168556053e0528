"""A Slack channel as an escalation-step target: the step posts the incident's Block Kit
page to the channel (``TargetKind.post`` of kind ``slack_channel``)."""

from __future__ import annotations

from paging.channels.escalation_targets import target_incident, target_message_enqueue
from paging.channels.slack.blocks import incident_text
from paging.channels.slack.transport import KIND_CHANNEL
from paging.models import Message


def slack_channel_post(*, incident_id: int, address: str, step: int, loop: int) -> Message:
    """Queue the Block Kit page for ``incident_id`` to the Slack channel ``address``."""
    incident = target_incident(incident_id)
    return target_message_enqueue(
        incident=incident,
        idempotency_key=f"slack-channel:{incident_id}:{step}:{loop}:{address}",
        kind=KIND_CHANNEL,
        destination=address,
        body=incident_text(incident),
        step=step,
        loop=loop,
        queued_text=f"Slack post to {address}",
    )
