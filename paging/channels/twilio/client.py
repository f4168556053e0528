"""The official Twilio client, pointed at ``TWILIO_BASE_URL`` (a fake on loopback in tests)."""

from __future__ import annotations

import logging
from functools import lru_cache

# The client imports its API modules on first use; the dispatcher's send threads would
# race on that import (and stall behind one another), so it happens here, once.
import twilio.rest.api  # noqa: F401
from django.conf import settings
from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


def twilio_configured() -> bool:
    return settings.TWILIO_ENABLED


def request_timeout() -> float:
    return float(settings.TWILIO_TIMEOUT_SECONDS)


# The library logs every request and its headers at INFO; the outbox row already
# records each send, so only its warnings are wanted.
_http_logger = logging.getLogger("paging.channels.twilio.http")
_http_logger.setLevel(logging.WARNING)


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, base_url: str, timeout: float) -> Client:
    # One pooled HTTP session per configuration; the timeout bounds every request so
    # a hanging provider turns into a transient error instead of a stuck dispatcher.
    http = TwilioHttpClient(timeout=timeout, logger=_http_logger)
    # The library keeps min(32, cores + 4) connections (6 on two cores); the dispatcher
    # may have DISPATCH_PROVIDER_CONCURRENCY sends to Twilio in flight, and each one
    # over the pool would open (and throw away) a TLS connection.
    keep = HTTPAdapter(pool_maxsize=max(10, settings.DISPATCH_PROVIDER_CONCURRENCY))
    if http.session is not None:
        http.session.mount("https://", keep)
        http.session.mount("http://", keep)
    client = Client(account_sid, auth_token, http_client=http)
    client.api.base_url = base_url.rstrip("/")
    return client


def twilio_client() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_BASE_URL,
        request_timeout(),
    )
