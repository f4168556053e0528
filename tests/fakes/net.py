"""What the HTTP provider fakes share: the loopback server (``FakeProviderServer``),
served in a thread (``LoopbackFake``), a quiet handler that writes whole answers
(``QuietHandler``), and addresses on 127.0.0.1 where a connection fails before any
request is sent."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeProviderServer(ThreadingHTTPServer):
    """The loopback HTTP server every provider fake runs on.

    The listen backlog is large: ``socketserver``'s default of 5 overflows when two
    dispatchers open 30+ connections at once on a loaded 2-core machine, and the kernel
    then resets some of them, which a test would misread as a provider fault."""

    request_queue_size = 256
    daemon_threads = True


class QuietHandler(BaseHTTPRequestHandler):
    """A fake's request handler: no access log, and ``answer`` for the reply."""

    def log_message(self, *args: Any) -> None:
        pass

    def answer(
        self,
        status: int,
        data: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Write a whole answer; a client that already left (its timeout) is no error."""
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


class LoopbackFake:
    """A fake served on a free 127.0.0.1 port, in a daemon thread: ``serve(Handler)``
    in ``__init__``, ``close()`` when done."""

    server: FakeProviderServer
    thread: threading.Thread

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = FakeProviderServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
