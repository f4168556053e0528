"""A logging filter that keeps secrets out of log lines.

Secrets travel in URLs (integration tokens in ``/integrations/<kind>/<token>/``, iCal
feed tokens, signed ack links ``/l/<token>/``) and headers; Django logs the path of
every 4xx/5xx answer ("Not Found: /integrations/…") and the outage middleware logs the
path too. This filter rewrites each record's message with those path segments and any
configured secret value (provider tokens, signing secrets) replaced by ``…`` and their
last 4 characters. It sits on the configured handlers (``LOGGING``).
"""

from __future__ import annotations

import logging
import re

from oncall.security.secrets import secret_mask

# The secret part of each URL that carries one.
SECRET_PATHS = [
    re.compile(r"(/integrations/[a-z0-9_-]+/)([^/\s?]+)"),
    re.compile(r"(/feeds/)([^/\s?.]+)"),
    re.compile(r"(/l/)([^/\s?]+)"),
]
SECRET_SETTINGS = (
    "SECRET_KEY",
    "TWILIO_AUTH_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "PAGERDUTY_WEBHOOK_SECRET",
    "EMAIL_HOST_PASSWORD",
    "ANALYTICS_METRICS_TOKEN",
    "HEALTHZ_TOKEN",
)
# Shorter values are too likely to match ordinary text.
MIN_SECRET_LENGTH = 8


def redact(text: str) -> str:
    from django.conf import settings

    for pattern in SECRET_PATHS:
        text = pattern.sub(lambda m: m.group(1) + secret_mask(m.group(2)), text)
    for name in SECRET_SETTINGS:
        value = getattr(settings, name) or ""
        if len(value) >= MIN_SECRET_LENGTH and value in text:
            text = text.replace(value, secret_mask(value))
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
