"""What every signed link shares (incident action links, swap links): the errors a
reader raises and the lifetime, ``ACK_LINK_MAX_AGE_SECONDS`` (default 24 h).

A shared base, below the apps: ``paging.channels.links`` and ``schedules.swap_links``
both sign with ``SECRET_KEY`` (each with its own salt) and answer the same way.
"""

from __future__ import annotations

from django.conf import settings


class LinkInvalid(Exception):
    """The token was not signed by us, or was altered."""


class LinkExpired(LinkInvalid):
    """The token is genuine but older than the allowed age."""


def link_max_age() -> int:
    return settings.ACK_LINK_MAX_AGE_SECONDS
