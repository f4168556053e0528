"""The channel contract: ``send`` returns a provider id or raises ``TransportError``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import datetime

    from paging.models import Message


class TransportError(Exception):
    """A send failed. ``permanent`` means retrying the same address cannot help.

    ``retry_after`` (seconds): the provider asked us to wait (a rate limit); the outbox
    waits at least that long and does not count the attempt against its limit.
    ``disable_reason``: with ``permanent``, the address itself is bad; the outbox
    disables the contact method with this reason (transports never write state).
    ``maybe_sent``: the request may have reached the provider (a read timeout, a
    connection dropped after the body went out): before the outbox sends the row
    again it asks the channel's ``find_sent`` where there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        disable_reason: str = "",
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent
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


@runtime_checkable
class Reconcilable(Protocol):
    """A channel whose provider lets us look up what it already accepted."""

    def find_sent(self, message: Message, since: datetime) -> str | None:
        """The provider id of a copy of ``message`` the provider accepted at or after
        ``since`` (an earlier attempt whose answer never reached us), or None.

        Raises ``TransportError`` when the lookup itself fails (the outbox retries later).
        """
        ...
