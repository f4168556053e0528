"""The kind PagerDuty serves: forwarding to a PagerDuty service (an escalation-step
target whose address is the service's routing key, a secret), followed by our acks and
resolves (``forward_updates.py``)."""

from __future__ import annotations

from oncall.channel_registry import ChangeFollower, ChannelSpec, TargetKind
from paging.channels.pagerduty.forward_updates import PAGERDUTY_ACTIONS, pagerduty_forward_updates
from paging.channels.pagerduty.forwarding import KIND, pagerduty_transport_factory
from paging.channels.pagerduty.models import PagerDutyForward
from paging.channels.pagerduty.triggers import pagerduty_forward_trigger

PAGERDUTY = ChannelSpec(
    name=KIND,
    label="PagerDuty event",
    transport=pagerduty_transport_factory,
    target=TargetKind(
        name="pagerduty_service",
        label="PagerDuty service",
        reference="address",
        post=pagerduty_forward_trigger,
        secret=True,
        address_help="routing key",
    ),
    follower=ChangeFollower(
        model=PagerDutyForward,
        event_kinds=frozenset(PAGERDUTY_ACTIONS),
        outgoing=pagerduty_forward_updates,
    ),
)
