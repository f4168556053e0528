"""What a Slack contact method's value may be: a member id, or an e-mail address to find
the member by (looked up when the method is saved, see ``members.py``)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from oncall.people.validators import email_normalize

SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")


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


def slack_address_normalize(value: str) -> str:
    """An e-mail address's domain is lowered (a member id is left as typed)."""
    return email_normalize(value) if "@" in value else value
