"""Validators for the people directory: time zones, and the address formats contact
methods share (phone numbers, e-mail addresses); each contact kind's own rule is its
``ChannelSpec`` (``oncall.channel_registry``)."""

from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Characters people type inside phone numbers that E.164 leaves out.
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


def validate_time_zone(value: str) -> None:
    if not value or value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{value!r} is not an IANA time zone name (such as Europe/Berlin)",
            code="invalid_time_zone",
        )


def validate_e164(value: str) -> None:
    if not E164.match(value or ""):
        raise ValidationError(
            f"{value!r} is not an E.164 phone number (+ country code and number, digits only,"
            " such as +14155550123)",
            code="invalid_phone",
        )


def validate_email_address(value: str) -> None:
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(f"{value!r} is not an e-mail address", code="invalid_email") from None


def phone_normalize(value: str) -> str:
    """Drop the punctuation people type inside phone numbers (spaces, dashes, brackets)."""
    return _PHONE_PUNCTUATION.sub("", value)


def email_normalize(value: str) -> str:
    """The domain part is case-insensitive: lower it; the local part is left as typed."""
    local, at, domain = value.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else value
