"""Validators for the people directory: time zones and contact-method values."""

from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")


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


def validate_slack_member_id(value: str) -> None:
    if not SLACK_MEMBER_ID.match(value or ""):
        raise ValidationError(
            f"{value!r} is not a Slack member id (such as U012AB3CD)", code="invalid_slack_id"
        )


def validate_slack_address(value: str) -> None:
    """A Slack member id, or an e-mail address to find the member by."""
    if "@" not in (value or ""):
        validate_slack_member_id(value)
        return
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            f"{value!r} is not a Slack member id (such as U012AB3CD) or an e-mail address",
            code="invalid_slack_id",
        ) from None


def validate_contact_value(kind: str, value: str) -> None:
    """Validate ``value`` for a contact method of ``kind`` (voice, sms, email, slack)."""
    if kind in ("voice", "sms"):
        validate_e164(value)
    elif kind == "email":
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(
                f"{value!r} is not an e-mail address", code="invalid_email"
            ) from None
    elif kind == "slack":
        validate_slack_address(value)
    else:
        raise ValidationError(f"unknown contact method kind {kind!r}", code="invalid_kind")
