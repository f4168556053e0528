"""Web push through ``pywebpush``: the payload encrypted to the browser's keys
(aes128gcm, RFC 8291), the request signed with our VAPID key (RFC 8292), POSTed to the
subscription's endpoint at its push service (RFC 8030).

How the push service's answer is read:

- 201 (or any 2xx): accepted; the provider id is the message's ``Location``.
- 404, 410: the subscription is gone (the browser unsubscribed, its site data was
  cleared, the push service expired it): permanent, with a ``disable_reason``, so the
  outbox disables the contact method and the timeline says why.
- 429: a rate limit: retried after its ``Retry-After`` (60 s without one).
- 5xx: transient, retried with the outbox's backoff.
- 400, 401, 403, 413 and other 4xx: permanent, the method kept (a bad VAPID key or
  subject, a payload too large: the server's to fix, not the browser's).
- Connect failures: nothing sent, retried. A read timeout or a connection lost after
  the request went out: maybe sent (``maybe_sent``). A push service cannot be asked
  what it accepted, so the outbox sends again and says so on the timeline; the
  ``Topic`` header makes the push service replace a copy it still holds, and the
  notification's tag makes the device show one.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from paging.channels import TransportError
from paging.channels.page_incidents import is_page
from paging.channels.twilio.errors import request_never_left
from paging.channels.webpush.models import WebPushSubscription
from paging.channels.webpush.payload import webpush_payload
from paging.channels.webpush.vapid import vapid_key, vapid_subject
from paging.models import Message

KIND = "webpush"
GONE = (404, 410)
DEFAULT_RETRY_AFTER = 60.0
PROVIDER_ID_CHARS = 128


def push_topic(message: Message) -> str:
    """RFC 8030 ``Topic`` (at most 32 base64url characters): a newer message with the
    same topic replaces one the push service still holds for an offline device. Pages
    of one incident to one engineer share it; anything else is its own."""
    if is_page(message) and message.incident_id is not None:
        return f"i{message.incident_id}e{message.engineer_id or 0}"[:32]
    return f"m{message.pk}"[:32]


def retry_after_seconds(value: str | None) -> float:
    """``Retry-After``: seconds, or an HTTP date; our default when absent or unreadable."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(max(int(value), 1))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - time.time(), 1.0)


def push_error_classify(status: int, text: str, headers: Mapping[str, str]) -> TransportError:
    """The TransportError for a push service's non-2xx answer."""
    detail = f"push service answered {status}" + (f": {text[:200]}" if text else "")
    if status in GONE:
        reason = (
            f"the push service answered {status}: this browser's subscription has ended "
            "(unsubscribed, site data cleared or expired); subscribe again on /me/contact/"
        )
        return TransportError(
            f"{reason} — contact method disabled", permanent=True, disable_reason=reason
        )
    if status == 429:
        return TransportError(detail, retry_after=retry_after_seconds(headers.get("Retry-After")))
    if status >= 500:
        return TransportError(detail, permanent=False)
    if status in (401, 403):
        detail += (
            " (our VAPID signature was refused: check WEBPUSH_VAPID_PRIVATE_KEY and "
            "WEBPUSH_VAPID_SUBJECT; a browser subscribed under another key must subscribe again)"
        )
    return TransportError(detail, permanent=True)


def _network_error(exc: Exception) -> TransportError:
    if isinstance(exc, requests.exceptions.SSLError):
        # The TLS handshake failed (an untrusted certificate): no request went out.
        return TransportError(f"push service TLS failed: {exc}", permanent=False)
    if request_never_left(exc):
        return TransportError(f"push service unreachable: {exc}", permanent=False)
    what = "timed out" if isinstance(exc, requests.Timeout) else "connection lost"
    return TransportError(f"push service {what}: {exc}", permanent=False, maybe_sent=True)


def _provider_id(response: requests.Response) -> str:
    location = response.headers.get("Location", "")
    return (location.rstrip("/").rsplit("/", 1)[-1] or f"{response.status_code}")[
        -PROVIDER_ID_CHARS:
    ]


class _Session(requests.Session):
    """A session whose CA bundle, when ``WEBPUSH_CA_FILE`` names one, wins: plain requests
    lets the environment's ``REQUESTS_CA_BUNDLE`` replace a session's ``verify``. Unset:
    requests' own default (``REQUESTS_CA_BUNDLE``, else certifi's bundle)."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        merged = super().merge_environment_settings(*args, **kwargs)
        if self.ca_file:
            merged["verify"] = self.ca_file
        return merged


class WebPushTransport:
    name = "webpush"

    def send(self, message: Message) -> str:
        sub = WebPushSubscription.objects.filter(ref=message.destination).first()
        if sub is None:
            reason = "no browser subscription is stored for it: subscribe again on /me/contact/"
            raise TransportError(reason, permanent=True, disable_reason=reason)
        key = vapid_key()
        if key is None:  # the factory only hands out a transport with a key
            raise TransportError("web push is not configured", permanent=False)
        payload = json.dumps(webpush_payload(message), separators=(",", ":"))
        session = _Session(settings.WEBPUSH_CA_FILE)
        try:
            response = webpush(
                subscription_info={
                    "endpoint": sub.endpoint,
                    "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
                },
                data=payload,
                vapid_private_key=key,
                vapid_claims={"sub": vapid_subject()},  # a new dict: webpush() fills it in
                ttl=settings.WEBPUSH_TTL_SECONDS,
                timeout=float(settings.WEBPUSH_TIMEOUT_SECONDS),
                headers={
                    "Urgency": "high" if is_page(message) else "normal",
                    "Topic": push_topic(message),
                },
                requests_session=session,
            )
        except WebPushException as exc:
            answer = exc.response
            if answer is None:  # refused before sending: the stored subscription is unusable
                reason = f"the stored subscription cannot be used: {exc.message}"
                raise TransportError(reason, permanent=True, disable_reason=reason) from exc
            raise push_error_classify(answer.status_code, answer.text, answer.headers) from exc
        except (requests.RequestException, OSError) as exc:
            raise _network_error(exc) from exc
        finally:
            session.close()
        assert isinstance(response, requests.Response)
        return _provider_id(response)


def webpush_transport() -> WebPushTransport | None:
    return WebPushTransport() if vapid_key() is not None else None
