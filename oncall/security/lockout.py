"""The answer to a locked-out client: 429 with Retry-After, logged.

django-axes keeps the failures in the database (``AccessAttempt``, ``AccessFailureLog``),
so every gunicorn worker refuses the same client; this module only shapes the answer
(axes' ``AXES_LOCKOUT_CALLABLE``) and says how long the lock-out still lasts.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind a proxy the last entry of the
    header named by ``CLIENT_IP_HEADER`` (earlier entries come from the client and can be
    forged)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def lockout_parameters(request: Any, credentials: dict[str, Any] | None) -> list[str]:
    """A password failure counts per address and per username; a token failure (no
    username) per address only, or all tokenless failures would share one count."""
    if credentials and credentials.get("api_token"):
        return ["ip_address"]
    return ["ip_address", "username"]


def lockout_seconds_left(*, ip_address: str | None, username: str | None) -> int:
    """Seconds until the newest failure of this address or username is forgotten."""
    match = Q(ip_address=ip_address) if ip_address else Q(pk__in=[])
    if username:
        match |= Q(username=username)
    latest = AccessAttempt.objects.filter(match).aggregate(at=Max("attempt_time"))["at"]
    cooloff = settings.AXES_COOLOFF_TIME.total_seconds()
    if latest is None:
        return int(cooloff)
    left = cooloff - (timezone.now() - latest).total_seconds()
    return max(1, math.ceil(left))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    ip_address = getattr(request, "axes_ip_address", None) or client_address(request)
    username = get_client_username(request, credentials)
    seconds = lockout_seconds_left(ip_address=ip_address, username=username)
    # The address and username only: never the password or token that was tried.
    logger.warning(
        "login locked out: address=%s username=%r path=%s retry_after=%ss",
        ip_address,
        username,
        request.path,
        seconds,
    )
    text = f"Too many failed attempts; try again in {math.ceil(seconds / 60)} minutes."
    response: HttpResponse
    if "text/html" in request.headers.get("Accept", "") and not request.path.startswith("/api/"):
        response = HttpResponse(
            f"<!doctype html><title>Too many attempts</title><h1>Too many attempts</h1>"
            f"<p>{text}</p>",
            status=429,
        )
    else:
        response = JsonResponse({"detail": text, "retry_after_seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response
