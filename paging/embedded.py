"""The engine loop of the embedded mode: a daemon thread of the web process."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from paging.dispatch import dispatcher
from paging.engine import tick
from paging.kick import embedded_wakeup

logger = logging.getLogger(__name__)


def _loop(stop: threading.Event) -> None:
    while not stop.is_set():
        embedded_wakeup.clear()
        try:
            close_old_connections()
            tick()
        except Exception:  # the loop must outlive any one bad tick
            logger.exception("engine tick failed")
        finally:
            # Give the connection back (to the pool) while waiting: the web threads of
            # the same process share it.
            close_old_connections()
        embedded_wakeup.wait(settings.ENGINE_TICK_SECONDS)


def start_engine_thread() -> threading.Event:
    """Start the loop; set the returned event to stop it."""
    stop = threading.Event()
    dispatcher.start()
    thread = threading.Thread(target=_loop, args=(stop,), name="engine", daemon=True)
    thread.start()
    return stop
