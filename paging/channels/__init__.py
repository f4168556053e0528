"""Outgoing channels. ``channel_for(kind)`` picks the real transport or the console."""

from paging.channels.base import Channel, Reconcilable, TransportError
from paging.channels.registry import channel_for

__all__ = ["Channel", "Reconcilable", "TransportError", "channel_for"]
