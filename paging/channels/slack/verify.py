"""Verifying that a request comes from Slack: signing secret, 5-minute window, no replays.

``slack_sdk.signature.SignatureVerifier`` checks the HMAC and that the timestamp is
within 300 s. Inside that window a captured request could be sent again; each
signature is therefore accepted once (``SlackRequestSeen``, pruned by the tick).
Slack does not retry interactive or slash-command requests, so this refuses nothing
Slack itself sends twice.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from slack_sdk.signature import SignatureVerifier

from paging.channels.slack.models import SlackRequestSeen

SIGNATURE_FORMAT = re.compile(r"^v0=[0-9a-f]{64}$")
TIMESTAMP_FORMAT = re.compile(r"^[0-9]{1,12}$")


class SlackRequestRefused(Exception):
    """The request is not provably from Slack (the message says why, for the log)."""


def slack_request_verify(*, body: bytes, timestamp: str, signature: str) -> None:
    """Raise SlackRequestRefused unless the request is signed, fresh and not seen."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret.strip():
        raise SlackRequestRefused("SLACK_SIGNING_SECRET is not configured")
    if not TIMESTAMP_FORMAT.match(timestamp or ""):
        raise SlackRequestRefused("missing or malformed X-Slack-Request-Timestamp")
    if not SIGNATURE_FORMAT.match(signature or ""):
        raise SlackRequestRefused("missing or malformed X-Slack-Signature")
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        raise SlackRequestRefused("bad signature or timestamp outside the 5-minute window")
    try:
        with transaction.atomic():
            SlackRequestSeen.objects.create(signature=signature, received_at=timezone.now())
    except IntegrityError:
        raise SlackRequestRefused("replayed request (signature already used)") from None
