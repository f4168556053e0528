"""What the people directory (and the schedules above it) ask of paging, without
importing it.

Paging registers the implementations in its apps' ``ready()``; the directory and the
schedules call these functions. So the dependencies point one way (README
"Architecture"): ``oncall.people`` <- ``schedules`` <- ``paging``.

- **Message sender**: queue one message to a person through one of their contact
  methods (verification codes, swap notices). Paging's outbox does it
  (``paging.contact_messages``): recorded, sent by the dispatcher through the
  method's channel, retried like a page, the dispatcher woken at commit.
- **Address lookups**, per contact-method kind: turn the address someone typed into
  the one that is paged (a Slack e-mail address into the member id). The channel's
  folder registers one (``paging/channels/slack/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncall.people.models import ContactMethod


@dataclass(frozen=True)
class ContactMessage:
    """One message to a person through one of their contact methods."""

    idempotency_key: str  # the same key twice queues one message
    purpose: str  # a ``paging.models.Message.Purpose`` value: "verification", "swap"…
    contact_method: ContactMethod
    subject: str
    body: str


# Queues the messages (in the caller's transaction) and returns them, in order.
MessageSender = Callable[[list[ContactMessage]], list[Any]]


class AddressLookupFailed(Exception):
    """The address could not be looked up; the text says why, for the person who asked."""


_sender: MessageSender | None = None
_lookups: dict[str, Callable[[str], str]] = {}


def register_message_sender(sender: MessageSender) -> None:
    global _sender
    _sender = sender


def contact_messages_send(messages: list[ContactMessage]) -> list[Any]:
    """Queue ``messages`` (idempotent by their keys); returns the queued messages (each
    a ``paging.models.Message``). Call inside the transaction that decided to send: they
    commit (and leave) with it, or not at all."""
    if _sender is None:
        raise RuntimeError("no message sender registered (paging is not installed)")
    return _sender(messages)


def register_address_lookup(kind: str, lookup: Callable[[str], str]) -> None:
    """``lookup(address)`` returns the address to page, or raises ``AddressLookupFailed``."""
    _lookups[kind] = lookup


def address_lookup(kind: str) -> Callable[[str], str] | None:
    return _lookups.get(kind)
