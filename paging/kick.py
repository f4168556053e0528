"""Wake the engine right after a commit, instead of waiting for the next beat.

The kick is only a hint: every deadline is a database row, and the next beat tick (every
``ENGINE_TICK_SECONDS``) finds the work anyway. So a kick that cannot reach the broker
never fails the request that committed: the error is logged and counted, and the
publish gives up fast (one attempt, ``KICK_RETRY_POLICY``; the broker's socket timeouts
are in ``CELERY_BROKER_TRANSPORT_OPTIONS``) instead of holding the request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# One retry after a short pause: a broker that is restarting answers within it, one that
# is down costs the request well under a second (plus the connect timeout when its host
# does not answer at all).
KICK_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# At most one log line per this many seconds per process while kicks keep failing (an
# outage during a burst of alerts would otherwise log one traceback per request).
LOG_EVERY_SECONDS = 10.0

# In embedded mode the engine loop waits on this event between ticks.
embedded_wakeup = threading.Event()

_failures_lock = threading.Lock()
_failures = 0  # kicks that could not be published, since this process started
_unlogged = 0  # failures since the last log line
_last_log = float("-inf")


def kick_failures() -> int:
    """How many kicks this process could not publish (they were picked up by a beat tick)."""
    return _failures


def _kick_failed(exc: BaseException) -> None:
    global _failures, _unlogged, _last_log
    now = time.monotonic()
    with _failures_lock:
        _failures += 1
        _unlogged += 1
        if now - _last_log < LOG_EVERY_SECONDS:
            return
        count, _unlogged, _last_log = _unlogged, 0, now
    logger.warning(
        "engine kick not published (%d since the last report, %d in all): %r; "
        "the next beat tick picks the work up",
        count,
        _failures,
        exc,
        exc_info=count == 1,
    )


def _kick_now() -> None:
    if settings.EMBEDDED_MODE:
        embedded_wakeup.set()
        return
    from paging.tasks import engine_tick

    try:
        engine_tick.apply_async((time.time(),), retry=True, retry_policy=KICK_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the kick is only a hint
        _kick_failed(exc)


def kick_engine() -> None:
    """Ask for a tick once the current transaction commits."""
    transaction.on_commit(_kick_now)
