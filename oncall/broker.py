"""The Redis broker transport, with the teardown fix that keeps a worker alive across a restart.

Why this exists (celery 5.7.0, kombu 5.7.0, redis-py 8.1.0): when Redis goes away while a
worker holds an unacknowledged message (a tick running with ``acks_late``, or one reserved)
*and* a BRPOP is pending, the worker died with ``Unrecoverable error: AttributeError("'NoneType'
object has no attribute 'hostname'")``. The chain, read from the traceback:

1. The loss is noticed on another socket (the pub/sub one of remote control, gossip or
   mingle, or an ack). Celery's consumer then calls ``connection.collect()`` and afterwards
   ``connection.close()`` (``Consumer.on_connection_error_after_connected``).
2. ``collect()`` closes the channel: kombu's redis ``Channel.close()`` first reads the pending
   BRPOP reply (so a popped message is not lost). On a dead socket that read raises
   ``ConnectionError`` *before* the channel is marked closed; ``collect()`` swallows it and
   detaches the transport from its connection (``transport.client = None``) and drops the
   channel's connection pools.
3. ``close()`` closes the still-open channel again. This time it gets as far as restoring
   the unacknowledged messages, which needs a new pool, built from
   ``self.connection.client.hostname``: ``client`` is None, an ``AttributeError`` that is
   not a connection error, so nothing on the way catches it and the worker exits.

The fix, in a subclass instead of a patched site-packages: a failed BRPOP read during
close is a connection error like any other (the channel then closes fully on the first
try), and a channel whose connection was already torn down reports a connection error,
which celery handles by reconnecting. Losing the unacknowledged kicks is harmless: the
database is the queue and the next beat tick finds the work.

``oncall/celery.py`` makes the ``redis://`` and ``rediss://`` schemes use this transport.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import Empty
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def close(self) -> None:
        if self._in_poll and not self.closed:
            try:
                self._brpop_read()
            except Empty:
                pass
            except self.connection_errors:
                # The socket is dead: nothing to read; close the rest (kombu lets this
                # escape and leaves the channel half-closed, see the module docstring).
                pass
        super().close()

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            # The transport was detached from its connection (torn down after a
            # connection loss): a connection error, which the worker recovers from.
            raise RedisConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
