"""The worker's broker teardown after Redis vanished, replayed with kombu on a private Redis.

This is the state in which the celery worker (celery 5.7.0, kombu 5.7.0) died with
``AttributeError: 'NoneType' object has no attribute 'hostname'``: a task message delivered
and not yet acknowledged (``acks_late``, a tick running), a BRPOP pending (the worker asks
for more while a pool slot is free), a fanout queue on a channel of its own (remote
control), then Redis goes away and the consumer runs ``collect()`` then ``close()``
(``Consumer.on_connection_error_after_connected``). See ``oncall/broker.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from kombu.common import ignore_errors
from kombu.transport import redis as kombu_redis

from oncall import broker
from oncall.celery import app

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def teardown_after_broker_loss(transport: type, port: int, redis: subprocess.Popen) -> None:
    """Bring a connection into the worker's state, stop Redis, tear down as celery does."""
    conn = Connection(hostname="127.0.0.1", port=port, virtual_host="0", transport=transport)
    tasks = Queue("tasks", Exchange("tasks"), "tasks")
    with conn.Producer() as producer:
        producer.publish({"tick": 1}, exchange=tasks.exchange, routing_key="tasks", declare=[tasks])
    delivered: list = []
    conn.Consumer([tasks], callbacks=[lambda body, message: delivered.append(message)]).consume()
    control = conn.channel()  # remote control: a fanout, auto-delete queue of its own
    fanout = Queue("control", Exchange("control", type="fanout"), auto_delete=True)
    conn.Consumer([fanout], channel=control, callbacks=[lambda *_: None]).consume()
    deadline = time.monotonic() + 10
    while not delivered and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            conn.drain_events(timeout=0.5)
    assert len(delivered) == 1  # delivered, not acknowledged: the task is running
    conn.default_channel._brpop_start()  # the worker keeps a BRPOP pending meanwhile

    redis.send_signal(signal.SIGTERM)
    redis.wait(timeout=15)

    # Consumer.on_connection_error_after_connected, celery 5.7.0:
    with contextlib.suppress(Exception):  # celery ignores every error here too
        conn.collect(socket_timeout=5)
    ignore_errors(conn, conn.close)  # celery ignores connection errors only


def test_redis_urls_use_the_fixed_transport() -> None:
    with app.connection_for_write("redis://127.0.0.1:1/0") as conn:
        assert isinstance(conn.transport, broker.Transport)


def test_stock_kombu_transport_crashes_in_this_state(redis_server) -> None:
    """The scenario reproduces the worker's crash (if this fails, kombu fixed it upstream
    and ``oncall/broker.py`` can go)."""
    port, redis = redis_server
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'hostname'"):
        teardown_after_broker_loss(kombu_redis.Transport, port, redis)


def test_our_transport_tears_down_without_error(redis_server) -> None:
    port, redis = redis_server
    teardown_after_broker_loss(broker.Transport, port, redis)


def test_a_torn_down_channel_reports_a_connection_error(redis_server) -> None:
    port, _ = redis_server
    conn = Connection(hostname="127.0.0.1", port=port, virtual_host="0", transport=broker.Transport)
    channel = conn.default_channel
    channel._disconnect_pools()
    conn.transport.client = None  # what Connection.collect() leaves behind
    with pytest.raises(conn.connection_errors):
        channel._connparams()
