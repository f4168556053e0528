"""Wake the engine right after a commit, instead of waiting for the next beat.

The kick is only a hint: every deadline is a database row, and the next beat tick (every
``ENGINE_TICK_SECONDS``) finds the work anyway. So a kick that cannot reach the broker
never fails the request that committed: the error is logged and counted, and the
publish gives up fast (one attempt, ``KICK_RETRY_POLICY``; the broker's socket timeouts
are in ``CELERY_BROKER_TRANSPORT_OPTIONS``) instead of holding the request.

**Coalesced** (``ENGINE_KICK_COALESCE``, on by default, with a Redis broker): at most one
kick is pending per worker queue. A request publishes only when it sets the queue's
pending key (``SET NX`` with a short expiry); the worker deletes the key *before* its
tick reads the database. So a commit either happened before the delete (that tick sees
it) or finds the key gone and publishes a new kick: none is lost, and a burst of N
alerts costs one or two ticks, not N, and N - 1 requests publish nothing. The expiry
only bounds a kick lost on the way (its key would otherwise stop kicks; the beat tick
covers the gap). Other brokers (AMQP) publish every kick, as before; so does
``ENGINE_KICK_COALESCE=false`` (the baseline of ``bench ingest_alertmanager``).

**Window** (``ENGINE_KICK_WINDOW_MS``, 250): a kicked tick starts no sooner than that
after the previous kicked tick started. The worker waits out the rest of the window
*before* deleting the pending key, so the commits of the window publish nothing and
the one tick after it sees them all: under a stream of alerts the engine ticks at most
once per window (one claim, one policy check, one round of sends for a batch) instead
of once per alert. Kicks further apart than the window (and beat's ticks) wait for
nothing, so a lone alert is paged at once.

In embedded mode the kick sets an event the engine loop clears before its tick:
coalesced and windowed the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

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
# A pending key outlives a kick lost on the way (a broker restart) by at most this long.
PENDING_EXPIRY_MS = 5000
# Redis waits of the pending key: as bounded as the publish itself.
PENDING_SOCKET_TIMEOUT = 2.0

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


_clients_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _broker_url() -> str:
    from oncall.celery import app

    return str(app.conf.broker_url or "")


def _pending_client() -> Any | None:
    """A Redis client on the broker's database, or None when the broker is not Redis."""
    url = _broker_url()
    if not url.startswith(("redis://", "rediss://")):
        return None
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=PENDING_SOCKET_TIMEOUT,
                socket_timeout=PENDING_SOCKET_TIMEOUT,
            )
            _clients[url] = client
    return client


def pending_key() -> str:
    """The pending-kick key of the queue engine ticks are sent to."""
    from oncall.celery import app

    return f"oncall:engine-kick-pending:{app.conf.task_default_queue}"


def window_key() -> str:
    """Set (expiring after the window) when a kicked tick of the queue starts."""
    from oncall.celery import app

    return f"oncall:engine-kick-window:{app.conf.task_default_queue}"


def window_seconds() -> float:
    return settings.ENGINE_KICK_WINDOW_MS / 1000


def kick_pending_take() -> None:
    """Called by the worker for a coalesced kick, before its tick reads the database.

    Waits for the rest of the window of the previous kicked tick (the pending key stays
    set meanwhile, so the commits of the window publish nothing), then starts a window
    and deletes the pending key (see the module doc). Redis' own clock times the
    window, so workers on several hosts share it.
    """
    client = _pending_client()
    if client is None:
        return
    window_ms = settings.ENGINE_KICK_WINDOW_MS
    try:
        if window_ms:
            rest_ms = client.pttl(window_key())  # -2: no window open
            if rest_ms > 0:
                time.sleep(min(rest_ms, window_ms) / 1000)
            client.set(window_key(), 1, px=window_ms)
        client.delete(pending_key())
    except Exception:  # noqa: BLE001 - the key expires on its own; tick anyway
        logger.warning("could not clear the pending engine kick", exc_info=True)


def _publish(**kwargs: Any) -> None:
    from paging.tasks import engine_tick

    engine_tick.apply_async(kwargs=kwargs, retry=True, retry_policy=KICK_RETRY_POLICY)


def _kick_now() -> None:
    if settings.EMBEDDED_MODE:
        embedded_wakeup.set()
        return
    client = _pending_client() if settings.ENGINE_KICK_COALESCE else None
    try:
        if client is None:
            _publish(kicked_at=time.time())
            return
        if not client.set(pending_key(), 1, nx=True, px=PENDING_EXPIRY_MS):
            return  # a kick is pending; its tick reads the database after this commit
        try:
            _publish(coalesced=True)
        except Exception:
            # Not sent: let the next commit try again rather than wait for the expiry.
            client.delete(pending_key())
            raise
    except Exception as exc:  # noqa: BLE001 - any broker failure: the kick is only a hint
        _kick_failed(exc)


def kick_engine() -> None:
    """Ask for a tick once the current transaction commits."""
    transaction.on_commit(_kick_now)
