"""The engine loop of the embedded mode: a daemon thread of the web process."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from paging.dispatch import dispatcher
from paging.engine import tick
from paging.kick import embedded_wakeup, window_seconds

logger = logging.getLogger(__name__)


def _loop(stop: threading.Event) -> None:
    kicked = False
    window_ends = float("-inf")
    full_at = float("-inf")  # when the last full tick started
    while not stop.is_set():
        if kicked:
            # A kick within the window of the previous kicked tick waits for its end,
            # event still set: the commits meanwhile share the next tick (paging/kick.py).
            stop.wait(max(0.0, window_ends - time.monotonic()))
            window_ends = time.monotonic() + window_seconds()
        # A full tick (every step, the heartbeat) at least every ENGINE_TICK_SECONDS,
        # however often commits kick; kicked ticks in between (paging/engine.py).
        full = not kicked or time.monotonic() - full_at >= settings.ENGINE_TICK_SECONDS
        if full:
            full_at = time.monotonic()
        embedded_wakeup.clear()
        try:
            close_old_connections()
            tick(kicked=not full)
        except Exception:  # the loop must outlive any one bad tick
            logger.exception("engine tick failed")
        finally:
            # Give the connection back (to the pool) while waiting: the web threads of
            # the same process share it.
            close_old_connections()
        kicked = embedded_wakeup.wait(settings.ENGINE_TICK_SECONDS)


def start_engine_thread() -> threading.Event:
    """Start the loop; set the returned event to stop it."""
    stop = threading.Event()
    dispatcher.start()
    thread = threading.Thread(target=_loop, args=(stop,), name="engine", daemon=True)
    thread.start()
    return stop
