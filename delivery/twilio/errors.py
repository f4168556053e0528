"""Classifying Twilio failures: transient (retry later) or permanent (next contact method)."""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from paging.channels import TransportError

# Error codes meaning "this number cannot be reached this way": the contact method
# is disabled with the reason. https://www.twilio.com/docs/api/errors
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


def twilio_error_classify(exc: Exception) -> tuple[TransportError, str | None]:
    """The TransportError to raise, and a reason to disable the contact method (or None)."""
    if isinstance(exc, TwilioRestException):
        code = exc.code
        text = f"Twilio {exc.status} error {code}: {exc.msg}".strip()
        if code in INVALID_NUMBER_CODES:
            reason = f"Twilio error {code}: {INVALID_NUMBER_CODES[code]}"
            return TransportError(text, permanent=True), reason
        if exc.status == 429 or exc.status >= 500:
            return TransportError(text, permanent=False), None
        # Any other 4xx (bad credentials, bad request): the same request cannot succeed.
        return TransportError(text, permanent=True), None
    if isinstance(exc, requests.Timeout):
        return TransportError(f"Twilio timed out: {exc}", permanent=False), None
    if isinstance(exc, requests.RequestException | TwilioException | OSError):
        return TransportError(f"Twilio unreachable: {exc}", permanent=False), None
    raise exc
