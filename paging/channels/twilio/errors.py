"""Classifying Twilio failures: transient (retry later) or permanent (next contact method),
and, for a transient one, whether Twilio may have accepted the request anyway.
"""

from __future__ import annotations

import socket

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from urllib3.exceptions import ConnectTimeoutError

from paging.channels import TransportError

# Error codes meaning "this number cannot be reached this way": the outbox disables
# the contact method with the reason (``TransportError.disable_reason``). https://www.twilio.com/docs/api/errors
INVALID_NUMBER_CODES = {
    21211: "invalid phone number",
    21214: "number cannot be reached",
    21217: "invalid phone number",
    21401: "invalid phone number",
    21407: "number not supported",
    21610: "the recipient replied STOP (unsubscribed)",
    21612: "number cannot receive this message",
    21614: "not a mobile number (cannot receive SMS)",
}


def request_never_left(exc: BaseException) -> bool:
    """True when ``exc`` shows that no connection to Twilio was made, so nothing was sent.

    The twilio library sends through ``requests``/urllib3. A connect timeout, a refused
    connection or a failed DNS lookup surface as ``requests.ConnectTimeout`` or a
    ``requests.ConnectionError`` whose cause chain holds urllib3's
    ``ConnectTimeoutError`` (``NewConnectionError`` and ``NameResolutionError`` are
    subclasses). Anything else after the connection was made (a read timeout, "Connection
    aborted", a reset) may have reached Twilio: only a lookup can tell.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(
            err,
            requests.ConnectTimeout
            | ConnectTimeoutError
            | ConnectionRefusedError
            | socket.gaierror,
        ):
            return True
        # ``reason`` is an exception on urllib3's errors but a string on ssl.SSLError.
        reason = getattr(err, "reason", None)
        stack.extend([err.__cause__, err.__context__])
        if isinstance(reason, BaseException):
            stack.append(reason)
        stack.extend(arg for arg in err.args if isinstance(arg, BaseException))
    return False


def twilio_error_classify(exc: Exception) -> TransportError:
    """The TransportError to raise (with a ``disable_reason`` for a bad number)."""
    if isinstance(exc, TwilioRestException):
        code = exc.code
        text = f"Twilio {exc.status} error {code}: {exc.msg}".strip()
        if code in INVALID_NUMBER_CODES:
            reason = f"Twilio error {code}: {INVALID_NUMBER_CODES[code]}"
            return TransportError(text, permanent=True, disable_reason=reason)
        if exc.status == 429 or exc.status >= 500:
            return TransportError(text, permanent=False)
        # Any other 4xx (bad credentials, bad request): the same request cannot succeed.
        return TransportError(text, permanent=True)
    if isinstance(exc, requests.RequestException | OSError):
        if request_never_left(exc):
            return TransportError(f"Twilio unreachable: {exc}", permanent=False)
        # The request went out and no answer came back (a read timeout, a dropped
        # connection): Twilio may have accepted it. The outbox looks before resending.
        what = "timed out" if isinstance(exc, requests.Timeout) else "connection lost"
        return TransportError(f"Twilio {what}: {exc}", permanent=False, maybe_sent=True)
    if isinstance(exc, TwilioException):
        return TransportError(f"Twilio unreachable: {exc}", permanent=False)
    raise exc
