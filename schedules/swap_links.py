"""Signed links in swap notices: the teammate asked opens the request and accepts or
declines without signing in (GET shows, a CSRF-protected POST acts), like the ack links
of ``paging.channels.links``: same signing with ``SECRET_KEY``, same lifetime
(``ACK_LINK_MAX_AGE_SECONDS``), same errors. A token names one swap and the engineer it
was sent to: ``<swap>-<engineer>.<timestamp>.<signature>``."""

from __future__ import annotations

import re

from django.core import signing
from django.urls import reverse

from oncall.public_url import public_url
from oncall.signed_links import LinkExpired, LinkInvalid, link_max_age

SALT = "schedules.swap-link"
_PAYLOAD = re.compile(r"^(\d{1,18})-(\d{1,18})$")

__all__ = ["LinkExpired", "LinkInvalid", "swap_link_read", "swap_link_token", "swap_link_url"]


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=".")


def swap_link_token(*, swap_id: int, engineer_id: int) -> str:
    return _signer().sign(f"{swap_id}-{engineer_id}")


def swap_link_url(*, swap_id: int, engineer_id: int) -> str:
    token = swap_link_token(swap_id=swap_id, engineer_id=engineer_id)
    return public_url(reverse("me:swap-link", args=[token]))


def swap_link_read(token: str) -> tuple[int, int]:
    """(swap id, engineer id) of a genuine, unexpired token; raises ``LinkExpired`` or
    ``LinkInvalid``."""
    try:
        value = _signer().unsign(token[:200], max_age=link_max_age())
    except signing.SignatureExpired:
        raise LinkExpired("this link has expired") from None
    except signing.BadSignature:
        raise LinkInvalid("this link is not valid") from None
    match = _PAYLOAD.match(value)
    if match is None:
        raise LinkInvalid("this link is not valid")
    return int(match[1]), int(match[2])
