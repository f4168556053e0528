"""The Slack transport: one ``send`` for every Slack message kind in the outbox.

Kinds (``Message.kind``):
- ``slack``: a page (or a code, a reminder) to an engineer, by DM. The destination is
  their member id (the contact method's value) or an e-mail address, looked up with
  ``users.lookupByEmail``.
- ``slack_channel``: a page posted to a channel (an escalation step target).
- ``slack_update``: ``chat.update`` of a message posted earlier; destination
  ``"<channel> <ts>"``; the blocks are rendered from the incident's state *now*.
- ``slack_ephemeral``: a reply only one user sees (``chat.postEphemeral``);
  destination ``"<channel> <user>"``.

Every page post is remembered (``SlackPost``) in the dispatcher's transaction, which
holds the incident row: an ack commits after it, so its update finds the post.
A 429 raises with ``retry_after`` (the outbox waits that long for this message) and
puts a ``SlackRateHold`` on the destination; the ``slack_rate_holds_apply`` tick step
keeps the other pending messages there until Retry-After has passed, without blocking
any other destination or channel. A member Slack cannot reach raises with a
``disable_reason``: the outbox disables the contact method.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bridges.models import SlackPost, SlackRateHold
from bridges.slack.blocks import incident_blocks, incident_text
from bridges.slack.client import (
    CONTACT_INVALID_ERRORS,
    SlackRateLimited,
    SlackSendFailed,
    slack_client,
    slack_error_classify,
)
from paging.channels import TransportError
from paging.models import Incident, Message

logger = logging.getLogger(__name__)

KIND_DM = "slack"
KIND_CHANNEL = "slack_channel"
KIND_UPDATE = "slack_update"
KIND_EPHEMERAL = "slack_ephemeral"
KINDS = (KIND_DM, KIND_CHANNEL, KIND_UPDATE, KIND_EPHEMERAL)


def hold_key(destination: str) -> str:
    """The part of a destination a rate limit applies to (the user or the channel)."""
    return destination.split(" ", 1)[0]


def slack_rate_hold_set(*, destination: str, seconds: int) -> None:
    until = timezone.now() + timedelta(seconds=seconds)
    with transaction.atomic():
        SlackRateHold.objects.update_or_create(
            destination=hold_key(destination), defaults={"until": until}
        )


class SlackTransport:
    name = "slack"

    def __init__(self, client: WebClient | None = None) -> None:
        self.client = client or slack_client()

    def send(self, message: Message) -> str:
        hold = SlackRateHold.objects.filter(
            destination=hold_key(message.destination), until__gt=timezone.now()
        ).first()
        if hold is not None:
            seconds = max(1, int((hold.until - timezone.now()).total_seconds()))
            raise SlackRateLimited(
                f"slack: rate limited for {message.destination}, {seconds} s left",
                retry_after=seconds,
            )
        method = "chat.postMessage"
        try:
            if message.kind == KIND_UPDATE:
                method = "chat.update"
                return self._update(message)
            if message.kind == KIND_EPHEMERAL:
                method = "chat.postEphemeral"
                return self._ephemeral(message)
            if message.kind == KIND_CHANNEL:
                return self._post(message, channel=message.destination)
            user = message.destination
            if "@" in user:  # an e-mail address: find the member
                method = "users.lookupByEmail"
                user = self.client.users_lookupByEmail(email=user)["user"]["id"]
            method = "conversations.open"
            channel = self.client.conversations_open(users=user)["channel"]["id"]
            method = "chat.postMessage"
            return self._post(message, channel=channel)
        except SlackApiError as exc:
            error = slack_error_classify(exc, method=method)
        except (SlackClientError, OSError) as exc:  # timeouts, refused connections
            raise TransportError(f"slack {method}: {exc}"[:500], permanent=False) from exc
        except TransportError:
            raise
        except Exception as exc:  # an odd answer must not stop the dispatcher
            logger.exception("slack %s failed unexpectedly for message %s", method, message.pk)
            raise TransportError(f"slack {method}: {exc!r}"[:500], permanent=False) from exc
        if isinstance(error, SlackRateLimited):
            slack_rate_hold_set(destination=message.destination, seconds=error.retry_after)
        elif (
            isinstance(error, SlackSendFailed)
            and error.error in CONTACT_INVALID_ERRORS
            and message.kind == KIND_DM
        ):
            # This member cannot be reached: the outbox disables the contact method.
            error.disable_reason = f"Slack: {error.error}"
        raise error

    def _post(self, message: Message, *, channel: str) -> str:
        if message.incident_id is None:
            text = f"{message.subject}\n{message.body}" if message.subject else message.body
            response = self.client.chat_postMessage(channel=channel, text=text)
            return f"{response['channel']} {response['ts']}"
        incident = Incident.objects.select_related("service", "acknowledged_by", "resolved_by").get(
            pk=message.incident_id
        )
        response = self.client.chat_postMessage(
            channel=channel, text=incident_text(incident), blocks=incident_blocks(incident)
        )
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        SlackPost.objects.get_or_create(
            channel=posted_channel,
            ts=ts,
            defaults={
                "incident_id": incident.pk,
                "message_id": message.pk,
                "kind": SlackPost.Kind.DIRECT
                if message.kind == KIND_DM
                else SlackPost.Kind.CHANNEL,
            },
        )
        return f"{posted_channel} {ts}"

    def _update(self, message: Message) -> str:
        channel, _, ts = message.destination.partition(" ")
        post = (
            SlackPost.objects.select_related(
                "incident__service", "incident__acknowledged_by", "incident__resolved_by"
            )
            .filter(channel=channel, ts=ts)
            .first()
        )
        if post is None:
            raise TransportError(f"slack: no posted message {message.destination}", permanent=True)
        incident = post.incident
        self.client.chat_update(
            channel=channel, ts=ts, text=incident_text(incident), blocks=incident_blocks(incident)
        )
        SlackPost.objects.filter(pk=post.pk).update(updated_at=timezone.now())
        return f"{channel} {ts}"

    def _ephemeral(self, message: Message) -> str:
        channel, _, user = message.destination.partition(" ")
        response = self.client.chat_postEphemeral(channel=channel, user=user, text=message.body)
        return f"{channel} {response.get('message_ts', '')}"


def slack_transport_factory() -> SlackTransport | None:
    """The registry's factory: the real transport once a bot token is configured."""
    from django.conf import settings

    if not getattr(settings, "SLACK_ENABLED", False):
        return None
    return SlackTransport()
