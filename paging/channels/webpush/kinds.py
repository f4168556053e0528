"""The kind the web-push folder serves: pages as push notifications in an engineer's
browser (subscribed on /me/contact/), a contact-method kind like SMS."""

from __future__ import annotations

from oncall.channel_registry import ChannelSpec
from paging.channels.webpush.subscriptions import KIND, validate_subscription_ref
from paging.channels.webpush.transport import webpush_transport

WEBPUSH = ChannelSpec(
    name=KIND,
    label="Web push",
    transport=webpush_transport,
    validate=validate_subscription_ref,
    value_help="a browser subscription, made by subscribing on /me/contact/"
    " (its push service host and a digest, e.g. fcm.googleapis.com/3f9a2c41b7d0e5f1a2b3)",
    # Not verified by a code: only a browser signed in as the engineer, subscribing with
    # this server's VAPID key, makes a subscription (README, "Web push").
    verify_before_paging=False,
    throttle_limit=5,
)
