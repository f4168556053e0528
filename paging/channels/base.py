"""The channel contract: ``send`` returns a provider id or raises ``TransportError``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from paging.models import Message


class TransportError(Exception):
    """A send failed. ``permanent`` means retrying the same address cannot help.

    ``retry_after`` (seconds): the provider asked us to wait (a rate limit); the outbox
    waits at least that long and does not count the attempt against its limit.
    ``disable_reason``: with ``permanent``, the address itself is bad; the outbox
    disables the contact method with this reason (transports never write state).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        disable_reason: str = "",
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.disable_reason = disable_reason

    @property
    def rate_limited(self) -> bool:
        return self.retry_after is not None and not self.permanent


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> str:
        """Deliver ``message``; return the provider's id for it."""
        ...
