"""Classifying Twilio failures: transient (retry later) or permanent (next contact method)."""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

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
    if isinstance(exc, requests.Timeout):
        return TransportError(f"Twilio timed out: {exc}", permanent=False)
    if isinstance(exc, requests.RequestException | TwilioException | OSError):
        return TransportError(f"Twilio unreachable: {exc}", permanent=False)
    raise exc
