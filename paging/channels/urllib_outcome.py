"""Did a failed urllib request reach the server? (slack_sdk and the PagerDuty client.)

``urllib.request`` wraps in ``URLError`` only what fails inside
``HTTPConnection.request``: connecting (refused, DNS, a connect timeout) or writing the
request. If that raised, the request did not leave whole, so the server cannot have
acted on it. What fails after it (waiting for or reading the answer: a read timeout,
"Remote end closed connection", a reset, a truncated answer) surfaces unwrapped
(``TimeoutError``, ``ConnectionError``, ``http.client.HTTPException``): the server may
have done what we asked.
"""

from __future__ import annotations

import http.client
import urllib.error


def urllib_failure_maybe_sent(exc: BaseException) -> bool:
    """True when the request may have reached the server before ``exc``."""
    if isinstance(exc, urllib.error.HTTPError):
        return False  # the server answered: not a lost answer
    if isinstance(exc, urllib.error.URLError):
        return False  # raised while connecting or writing the request
    return isinstance(exc, OSError | http.client.HTTPException)
