"""The channel contract: ``send`` returns a provider id or raises ``TransportError``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from paging.models import Message


class TransportError(Exception):
    """A send failed. ``permanent`` means retrying the same address cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> str:
        """Deliver ``message``; return the provider's id for it."""
        ...
