"""The kinds Slack serves: DMs to an engineer (a contact-method kind), posts to a channel
(an escalation-step target), and updates and ephemeral replies (messages only). Posts
follow their incident (``post_updates.py``)."""

from __future__ import annotations

from oncall.channel_registry import ChangeFollower, ChannelSpec, TargetKind
from paging.channels.slack.addresses import slack_address_normalize, validate_slack_address
from paging.channels.slack.channel_posts import slack_channel_post
from paging.channels.slack.models import SlackPost
from paging.channels.slack.post_updates import SLACK_UPDATE_KINDS, slack_post_updates
from paging.channels.slack.transport import (
    KIND_CHANNEL,
    KIND_DM,
    KIND_EPHEMERAL,
    KIND_UPDATE,
    slack_transport_factory,
)

DM = ChannelSpec(
    name=KIND_DM,
    label="Slack",
    transport=slack_transport_factory,
    validate=validate_slack_address,
    normalize=slack_address_normalize,
    value_help="a member id, or an e-mail address: the member is looked up"
    " (users.lookupByEmail), its id becomes the value and the address is kept in slack_email",
    # Every page posted (DM or channel) is updated in place when the incident changes.
    follower=ChangeFollower(
        model=SlackPost, event_kinds=SLACK_UPDATE_KINDS, outgoing=slack_post_updates
    ),
)
CHANNEL = ChannelSpec(
    name=KIND_CHANNEL,
    label="Slack channel post",
    transport=slack_transport_factory,
    target=TargetKind(
        name=KIND_CHANNEL,
        label="Slack channel",
        reference="address",
        post=slack_channel_post,
        address_help="channel id",
    ),
)
UPDATE = ChannelSpec(name=KIND_UPDATE, label="Slack update", transport=slack_transport_factory)
EPHEMERAL = ChannelSpec(
    name=KIND_EPHEMERAL, label="Slack ephemeral reply", transport=slack_transport_factory
)
SPECS = (DM, CHANNEL, UPDATE, EPHEMERAL)
