"""A small PagerDuty Events API v2 client: ``POST {PAGERDUTY_EVENTS_URL}/v2/enqueue``.

Plain ``urllib.request`` (no extra runtime dependency: ``pdpyras`` is only a test
dependency, and the ``pagerduty`` package refuses plain-http base URLs, which the
loopback fake needs). Answers are classified like every transport's: 202 sent;
400 (invalid event) and other 4xx permanent; 429, 5xx, timeouts transient.

A lost answer (a read timeout, a dropped connection) raises with ``maybe_sent=True``.
There is no lookup (the Events API has none) and none is needed: the Events API
deduplicates by ``dedup_key``, so sending the same event again is safe. A repeated
trigger for an alert PagerDuty already has (open) joins it (no second incident, no
second notification); a repeated acknowledge or resolve changes nothing.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from paging.channels import TransportError
from paging.channels.urllib_outcome import urllib_failure_maybe_sent

TIMEOUT_SECONDS = 5
USER_AGENT = "oncall-bridges/1.0"


class PagerDutyRateLimited(TransportError):
    """429: the outbox waits ``retry_after`` seconds and does not count the attempt."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, permanent=False, retry_after=retry_after)


def events_url() -> str:
    return settings.PAGERDUTY_EVENTS_URL.rstrip("/") + "/v2/enqueue"


def _error_text(body: bytes) -> str:
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if not isinstance(doc, dict):
        return str(doc)[:200]
    errors = doc.get("errors")
    text = str(doc.get("message") or doc.get("status") or "")
    if isinstance(errors, list) and errors:
        text += ": " + "; ".join(str(e) for e in errors[:5])
    return text[:500]


def event_send(*, event: dict[str, Any]) -> str:
    """Send one event; return the dedup key PagerDuty answered with."""
    url = events_url()
    if not url.startswith(("http://", "https://")):
        raise TransportError(f"PAGERDUTY_EVENTS_URL is not http(s): {url}", permanent=True)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(event).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
        if status == 429:
            raw = exc.headers.get("Retry-After", "") if exc.headers else ""
            seconds = int(raw) if str(raw).isdigit() else 60
            raise PagerDutyRateLimited(
                f"pagerduty: rate limited (429), retry after {seconds} s", retry_after=seconds
            ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        # Refused, DNS, connect timeout: nothing left. A read timeout or a dropped
        # connection: PagerDuty may have the event; resending it is safe (dedup_key).
        raise TransportError(
            f"pagerduty: {exc}"[:500], permanent=False, maybe_sent=urllib_failure_maybe_sent(exc)
        ) from exc
    if 200 <= status < 300:
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            doc = {}
        dedup_key = doc.get("dedup_key") if isinstance(doc, dict) else None
        return str(dedup_key or event.get("dedup_key") or "")
    text = f"pagerduty: HTTP {status} {_error_text(body)}".strip()
    raise TransportError(text, permanent=status < 500)
