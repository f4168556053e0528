"""Which transport serves each contact-method kind."""

from __future__ import annotations

from paging.channels.base import Channel
from paging.channels.console import ConsoleChannel

_CONSOLE = ConsoleChannel()


def channel_for(kind: str) -> Channel:
    """The configured transport for ``kind``; the console until providers exist."""
    return _CONSOLE
