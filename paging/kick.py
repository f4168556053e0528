"""Wake the engine right after a commit, instead of waiting for the next beat."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import transaction

# In embedded mode the engine loop waits on this event between ticks.
embedded_wakeup = threading.Event()


def _kick_now() -> None:
    if settings.EMBEDDED_MODE:
        embedded_wakeup.set()
        return
    from paging.tasks import engine_tick

    engine_tick.delay(time.time())


def kick_engine() -> None:
    """Ask for a tick once the current transaction commits."""
    transaction.on_commit(_kick_now)
