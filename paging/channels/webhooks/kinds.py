"""The kind the webhooks folder serves: incident events posted to configured URLs (not
a contact method, not a step target: endpoints are configured per service or globally)."""

from __future__ import annotations

from oncall.channel_registry import ChannelSpec
from paging.channels.webhooks.events import KIND
from paging.channels.webhooks.outcomes import webhook_outcome_record
from paging.channels.webhooks.transport import webhook_transport

WEBHOOK = ChannelSpec(
    name=KIND,
    label="Outgoing webhook",
    transport=webhook_transport,
    outcome=webhook_outcome_record,
)
