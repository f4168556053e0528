"""Posting a queued event to its webhook, signed; how each answer is classified.

- 2xx: delivered (the provider id is "HTTP <status>"); never sent again.
- 429: a rate limit: retried after its ``Retry-After`` (seconds or an HTTP date; 60 s
  without one), not counted as a failed try.
- 5xx and 408: transient, retried with the outbox's backoff (10 s, 20 s, 40 s …), at
  most ``paging.outbox.MAX_ATTEMPTS`` tries in all.
- 3xx (redirects are not followed: the signature is for this URL) and other 4xx:
  permanent.
- Connect failures, timeouts, a connection lost: transient, retried. A receiver may
  then see an event twice: the body's ``id`` (and ``X-Oncall-Delivery``) is the same on
  every try, for it to ignore the repeat.

The URL and the secret are read at each try, so a corrected URL or a rotated secret
applies to events still queued. Transports never write state: the outbox records the
outcome and ``outcomes.py`` puts failures on the incident's timeline.
"""

from __future__ import annotations

import time

import requests
from django.conf import settings

from paging.channels.base import TransportError
from paging.channels.webhooks.models import WebhookDelivery
from paging.channels.webhooks.signing import webhook_signature
from paging.channels.webpush.transport import retry_after_seconds
from paging.models import Message

USER_AGENT = "oncall-webhooks/1"


def _answer_error(status: int, headers: requests.structures.CaseInsensitiveDict) -> TransportError:
    detail = f"the webhook answered HTTP {status}"
    if status == 429:
        return TransportError(detail, retry_after=retry_after_seconds(headers.get("Retry-After")))
    if status >= 500 or status == 408:
        return TransportError(detail, permanent=False)
    if 300 <= status < 400:
        where = headers.get("Location", "")
        return TransportError(f"{detail} (redirects are not followed: {where})", permanent=True)
    return TransportError(detail, permanent=True)


class WebhookTransport:
    name = "webhook"

    def send(self, message: Message) -> str:
        delivery = (
            WebhookDelivery.objects.select_related("endpoint").filter(message_id=message.pk).first()
        )
        if delivery is None:
            raise TransportError(
                "the webhook was deleted before this event was sent", permanent=True
            )
        endpoint = delivery.endpoint
        if not endpoint.enabled:
            raise TransportError(
                f"webhook {endpoint.name} was disabled before this event was sent", permanent=True
            )
        body = message.body.encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Oncall-Event": delivery.event,
            "X-Oncall-Delivery": str(delivery.delivery_id),
            "X-Oncall-Timestamp": timestamp,
            "X-Oncall-Signature": webhook_signature(endpoint.secret, timestamp, body),
        }
        try:
            # A request of its own (no shared session: senders run in several threads).
            response = requests.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"webhook {endpoint.name}: {type(exc).__name__}: {exc}") from exc
        with response:
            if 200 <= response.status_code < 300:
                return f"HTTP {response.status_code}"
            raise _answer_error(response.status_code, response.headers)


_TRANSPORT: WebhookTransport | None = None


def webhook_transport() -> WebhookTransport:
    """Always configured: each endpoint carries its own URL and secret."""
    global _TRANSPORT
    if _TRANSPORT is None:
        _TRANSPORT = WebhookTransport()
    return _TRANSPORT
