"""Addresses on 127.0.0.1 where a connection fails before any request is sent."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from http.server import ThreadingHTTPServer


class FakeProviderServer(ThreadingHTTPServer):
    """The loopback HTTP server every provider fake runs on.

    The listen backlog is large: ``socketserver``'s default of 5 overflows when two
    dispatchers open 30+ connections at once on a loaded 2-core machine, and the kernel
    then resets some of them, which a test would misread as a provider fault."""

    request_queue_size = 256
    daemon_threads = True


@contextlib.contextmanager
def refusing_url() -> Iterator[str]:
    """A URL whose port refuses connections (nothing listens there)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def unanswered_connect_url() -> Iterator[str]:
    """A URL where connecting times out: a listener that never accepts, its backlog full,
    so the kernel drops further SYNs (a connect timeout, not a refusal)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                filler.close()
                break  # the backlog is full: the next connect will time out too
            fillers.append(filler)
        else:
            raise RuntimeError("could not fill the listen backlog")
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
