"""A database that cannot be reached answers 503 with Retry-After, never 500.

Alert senders (Alertmanager, PagerDuty clients) and API clients retry a 503 after
Retry-After and give up, or page a person about us, on a 500. While PostgreSQL is down,
restarting or out of connections, every request that needs it gets:

- JSON ``{"error": "Temporarily unavailable", "errors": [...]}`` (the inbound endpoints'
  shape; API clients read ``detail``, also set), or a short HTML page for a browser;
- status 503 and ``Retry-After: RETRY_AFTER_SECONDS``.

``DatabaseUnavailableMiddleware`` catches the error raised by a view (DRF views re-raise
non-API errors, so they land here too); ``server_error`` (the project's ``handler500``)
catches the same errors raised anywhere else in the request, e.g. in a middleware. Any
other error is still a 500. Only errors that mean "cannot talk to the database"
(``OperationalError``, ``InterfaceError``) qualify: an ``IntegrityError`` or a
``DataError`` is a bug or bad input, not an outage.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
MESSAGE = "the database cannot be reached; try again later"

_HTML = (
    "<!doctype html><title>Temporarily unavailable</title>"
    "<h1>Temporarily unavailable</h1><p>The database cannot be reached right now. "
    "Try again in a few seconds.</p>"
)


def _wants_html(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("Accept", "")


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for ``request`` while the database is unavailable."""
    response: HttpResponse
    if _wants_html(request):
        response = HttpResponse(_HTML, status=503)
    else:
        response = JsonResponse(
            {"error": "Temporarily unavailable", "errors": [MESSAGE], "detail": MESSAGE},
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNAVAILABLE_ERRORS):
            return None
        # No traceback: during an outage every request fails the same way.
        logger.warning("database unavailable: %s %s: %r", request.method, request.path, exception)
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a 503 when the error being handled is the database being unavailable."""
    exception = sys.exc_info()[1]
    if isinstance(exception, UNAVAILABLE_ERRORS):
        return unavailable_response(request)
    return defaults.server_error(request)
