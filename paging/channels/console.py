"""The console channel: used for every kind when no provider is configured.

The outbox row already records the message; this prints it so the embedded
mode shows what would have been sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paging.models import Message

logger = logging.getLogger("oncall.console")


class ConsoleChannel:
    name = "console"

    def send(self, message: Message) -> str:
        logger.info(
            "[console %s -> %s] %s%s",
            message.kind,
            message.destination,
            f"{message.subject}: " if message.subject else "",
            message.body,
        )
        return f"console-{message.pk}"
