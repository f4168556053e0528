"""Signed action links (acknowledge, resolve) for e-mail and SMS.

A token names the incident, the engineer it was sent to and the action, and carries
its signing time: ``<incident>-<engineer>-<action letter>.<timestamp>.<signature>``.
It is short enough for an SMS. Expiry: ``ACK_LINK_MAX_AGE_SECONDS`` (default 24 h).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from oncall.public_url import public_url
from oncall.signed_links import LinkExpired, LinkInvalid, link_max_age

__all__ = [
    "LinkExpired",
    "LinkInvalid",
    "LinkTarget",
    "link_max_age",
    "link_read",
    "link_token",
    "link_url",
]

SALT = "delivery.incident-action-link"
ACTIONS = {"a": "acknowledge", "r": "resolve"}
_LETTERS = {name: letter for letter, name in ACTIONS.items()}
_PAYLOAD = re.compile(r"^(\d{1,18})-(\d{1,18})-([ar])$")


@dataclass(frozen=True)
class LinkTarget:
    incident_id: int
    engineer_id: int
    action: str  # "acknowledge" | "resolve"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=".")


def link_token(*, incident_id: int, engineer_id: int, action: str) -> str:
    if action not in _LETTERS:
        raise ValueError(f"unknown link action {action!r}")
    return _signer().sign(f"{incident_id}-{engineer_id}-{_LETTERS[action]}")


def link_url(*, incident_id: int, engineer_id: int, action: str) -> str:
    token = link_token(incident_id=incident_id, engineer_id=engineer_id, action=action)
    return public_url(reverse("delivery-link", args=[token]))


def link_read(token: str) -> LinkTarget:
    """The target of a genuine, unexpired token; raises ``LinkExpired`` or ``LinkInvalid``."""
    try:
        value = _signer().unsign(token, max_age=link_max_age())
    except signing.SignatureExpired:
        raise LinkExpired("this link has expired") from None
    except signing.BadSignature:
        raise LinkInvalid("this link is not valid") from None
    match = _PAYLOAD.match(value)
    if match is None:  # signed by us but not a link payload: treat as forged
        raise LinkInvalid("this link is not valid")
    return LinkTarget(int(match[1]), int(match[2]), ACTIONS[match[3]])
