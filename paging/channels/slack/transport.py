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

Every post carries message metadata naming the outbox row (``event_type``
``oncall_page``, ``event_payload`` {``message_id``, ``key``}). A post whose answer was
lost (a read timeout, a dropped connection: ``TransportError(maybe_sent=True)``) is
looked up with ``find_sent`` in the channel's history before the outbox posts again.
"""

from __future__ import annotations

import http.client
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from paging.channels import TransportError
from paging.channels.slack.blocks import incident_blocks, incident_text
from paging.channels.slack.client import (
    CONTACT_INVALID_ERRORS,
    SlackRateLimited,
    SlackSendFailed,
    slack_client,
    slack_error_classify,
)
from paging.channels.slack.models import SlackPost, SlackRateHold
from paging.channels.urllib_outcome import urllib_failure_maybe_sent
from paging.models import Incident, Message

logger = logging.getLogger(__name__)

KIND_DM = "slack"
KIND_CHANNEL = "slack_channel"
KIND_UPDATE = "slack_update"
KIND_EPHEMERAL = "slack_ephemeral"
KINDS = (KIND_DM, KIND_CHANNEL, KIND_UPDATE, KIND_EPHEMERAL)

# The metadata every post carries, so a lost answer can be found in the history.
METADATA_EVENT_TYPE = "oncall_page"
# Methods that change something in Slack: a lost answer may hide a done post/update.
WRITE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
# Reconciling: Slack's ts is Slack's clock, ``since`` ours; and how much history to read.
RECONCILE_SKEW = timedelta(seconds=60)
RECONCILE_PAGE = 200
RECONCILE_PAGES = 5


def post_metadata(message: Message) -> dict[str, Any]:
    return {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"message_id": message.pk, "key": message.idempotency_key},
    }


def is_post_of(posted: dict[str, Any], message: Message) -> bool:
    """Whether a message from ``conversations.history`` is a post of outbox row ``message``:
    our event type, the row's id and its idempotency key (the key keeps a reused id from
    another database, or another installation posting there, from matching)."""
    metadata = posted.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    if not isinstance(payload, dict):
        return False
    return (
        str(payload.get("message_id")) == str(message.pk)
        and str(payload.get("key")) == message.idempotency_key
    )


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
                user = self._member(user)
            method = "conversations.open"
            channel = self._open_dm(user)
            method = "chat.postMessage"
            return self._post(message, channel=channel)
        except SlackApiError as exc:
            error = slack_error_classify(exc, method=method)
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            # Timeouts, refused or dropped connections. A post whose answer was lost may
            # be in Slack (the outbox looks with ``find_sent``); a failed lookup or
            # conversations.open posted nothing.
            maybe = method in WRITE_METHODS and urllib_failure_maybe_sent(exc)
            raise TransportError(
                f"slack {method}: {exc}"[:500], permanent=False, maybe_sent=maybe
            ) from exc
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

    def _member(self, email: str) -> str:
        return str(self.client.users_lookupByEmail(email=email)["user"]["id"])

    def _open_dm(self, user: str) -> str:
        # conversations.open answers the same IM channel every time for one member.
        return str(self.client.conversations_open(users=user)["channel"]["id"])

    def _post(self, message: Message, *, channel: str) -> str:
        metadata = post_metadata(message)
        if message.incident_id is None:
            text = f"{message.subject}\n{message.body}" if message.subject else message.body
            response = self.client.chat_postMessage(channel=channel, text=text, metadata=metadata)
            return f"{response['channel']} {response['ts']}"
        incident = Incident.objects.select_related("service", "acknowledged_by", "resolved_by").get(
            pk=message.incident_id
        )
        response = self.client.chat_postMessage(
            channel=channel,
            text=incident_text(incident),
            blocks=incident_blocks(incident),
            metadata=metadata,
        )
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        self._remember_post(message, channel=posted_channel, ts=ts)
        return f"{posted_channel} {ts}"

    def _remember_post(self, message: Message, *, channel: str, ts: str) -> None:
        """Record a page's post so that an ack or resolve updates it in place."""
        if message.incident_id is None:
            return
        SlackPost.objects.get_or_create(
            channel=channel,
            ts=ts,
            defaults={
                "incident_id": message.incident_id,
                "message_id": message.pk,
                "kind": SlackPost.Kind.DIRECT
                if message.kind == KIND_DM
                else SlackPost.Kind.CHANNEL,
            },
        )

    def find_sent(self, message: Message, since: datetime) -> str | None:
        """``"<channel> <ts>"`` of a post of ``message`` Slack accepted since ``since``.

        Posts (kinds ``slack`` and ``slack_channel``) are looked up in the channel's
        history: for a DM the IM channel ``conversations.open`` answers for the member
        (after ``users.lookupByEmail`` for an e-mail destination), else the destination
        channel id. ``conversations.history`` from ``since - RECONCILE_SKEW`` (inclusive,
        ``include_all_metadata``), up to ``RECONCILE_PAGES`` pages of
        ``RECONCILE_PAGE``, newest first; a message matches when its metadata is ours
        (``is_post_of``: event type ``oncall_page``, the row's id and idempotency key).
        The oldest match wins; a page's post is remembered (``SlackPost``) as ``send``
        would have, so an ack updates it in place.

        ``slack_update`` (chat.update) is idempotent and ``slack_ephemeral`` is not in
        any history: both answer None, and the outbox sends again (an update re-applies
        the same state; an ephemeral reply may show twice, to one person). Needs the
        ``channels:history``/``groups:history``/``im:history`` scopes; without them
        Slack's ``missing_scope`` is raised as a permanent TransportError.
        """
        if message.kind not in (KIND_DM, KIND_CHANNEL):
            return None
        method = "conversations.history"
        try:
            if message.kind == KIND_CHANNEL:
                channel = message.destination
            else:
                user = message.destination
                if "@" in user:
                    method = "users.lookupByEmail"
                    user = self._member(user)
                method = "conversations.open"
                channel = self._open_dm(user)
            method = "conversations.history"
            ts = self._find_in_history(message, channel=channel, since=since)
        except SlackApiError as exc:
            raise slack_error_classify(exc, method=method) from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise TransportError(f"slack {method}: {exc}"[:500], permanent=False) from exc
        if ts is None:
            return None
        self._remember_post(message, channel=channel, ts=ts)
        return f"{channel} {ts}"

    def _find_in_history(self, message: Message, *, channel: str, since: datetime) -> str | None:
        oldest = f"{(since - RECONCILE_SKEW).timestamp():.6f}"
        cursor = ""
        found: list[str] = []
        for _ in range(RECONCILE_PAGES):
            response = self.client.conversations_history(
                channel=channel,
                oldest=oldest,
                inclusive=True,
                include_all_metadata=True,
                limit=RECONCILE_PAGE,
                cursor=cursor or None,
            )
            found += [
                str(posted["ts"])
                for posted in response.get("messages") or []
                if isinstance(posted, dict) and posted.get("ts") and is_post_of(posted, message)
            ]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        return min(found, key=float) if found else None

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

    if not settings.SLACK_ENABLED:
        return None
    return SlackTransport()
