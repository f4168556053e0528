"""Which transport sends each message kind: the ``transport`` factory of the kind's
``ChannelSpec`` (``oncall.channel_registry``), registered by its channel folder.

A factory returns ``None`` while its provider is not configured, and the console
channel stands in; so does it for a kind nobody registered.
"""

from __future__ import annotations

from oncall.channel_registry import channel_kinds, channel_spec
from paging.channels.base import Channel
from paging.channels.console import ConsoleChannel

_CONSOLE = ConsoleChannel()


def channel_for(kind: str) -> Channel:
    """The configured transport for ``kind``, or the console when none is configured."""
    spec = channel_spec(kind)
    channel = spec.transport() if spec is not None and spec.transport is not None else None
    return channel or _CONSOLE


def registered_kinds() -> list[str]:
    """Every message kind a channel folder registered."""
    return channel_kinds()
