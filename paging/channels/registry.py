"""Which transport serves each contact-method kind.

Provider apps register a factory per kind; the factory returns ``None`` while its
provider is not configured, and the console channel stands in.
"""

from __future__ import annotations

from collections.abc import Callable

from paging.channels.base import Channel
from paging.channels.console import ConsoleChannel

_CONSOLE = ConsoleChannel()
_FACTORIES: dict[str, Callable[[], Channel | None]] = {}


def register_transport(kind: str, factory: Callable[[], Channel | None]) -> None:
    _FACTORIES[kind] = factory


def channel_for(kind: str) -> Channel:
    """The configured transport for ``kind``, or the console when none is configured."""
    factory = _FACTORIES.get(kind)
    channel = factory() if factory is not None else None
    return channel or _CONSOLE


def registered_kinds() -> list[str]:
    """Every kind a provider app registered a transport for."""
    return list(_FACTORIES)
