"""Loopback providers for the dispatch benchmarks, driven by the real client libraries.

``LoopbackTwilio`` answers the Twilio REST API's ``Messages.json`` POST (the real
``twilio`` client) after ``latency`` seconds; ``LoopbackSmtp`` accepts mail from
Django's SMTP backend and answers the end of DATA after ``latency`` seconds. Both
count what each destination received and how many requests were held at once.

Why not ``tests/fakes``: those record every request for assertions and listen with
the default backlog of 5 (a burst of 100+ connects then waits on SYN retries, ~1 s);
these only count, keep HTTP/1.1 connections alive, and listen with a deep backlog.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socketserver
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Gauge:
    """Requests being held now, the most at once, and per-destination counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.now = 0
        self.peak = 0

    def enter(self, destination: str) -> None:
        with self.lock:
            self.received[destination] += 1
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1

    def doubles(self) -> int:
        """Destinations that received more than one request."""
        with self.lock:
            return sum(1 for n in self.received.values() if n > 1)


class _DeepBacklogHTTPServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


class _DeepBacklogTCPServer(socketserver.ThreadingTCPServer):
    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True


class LoopbackTwilio(_Gauge):
    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        self._stopping = threading.Event()
        gauge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client's pool reuses sockets

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                to = form.get("To", "")
                gauge.enter(to)
                try:
                    gauge._stopping.wait(gauge.latency)
                finally:
                    gauge.leave()
                sid = "SM" + secrets.token_hex(16)
                self._answer(201, {"sid": sid, "status": "queued", "to": to})

            def do_GET(self) -> None:  # noqa: N802 - reconciliation lookups: nothing found
                self._answer(200, {"messages": [], "next_page_uri": None, "page": 0})

            def _answer(self, status: int, payload: dict[str, object]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self._server = _DeepBacklogHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Answer every held request now and stop listening (again: nothing)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


class LoopbackSmtp(_Gauge):
    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        gauge = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 loopback ESMTP")
                rcpt: list[str] = []
                while True:
                    line = self.rfile.readline(4096).decode(errors="replace").rstrip("\r\n")
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-loopback")
                        self.reply("250 8BITMIME")
                    elif verb == "MAIL":
                        rcpt = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpt.append(line.partition(":")[2].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        while self.rfile.readline(65536) not in (b".\r\n", b".\n", b""):
                            pass
                        for address in rcpt:
                            gauge.enter(address)
                        threading.Event().wait(gauge.latency)
                        for _ in rcpt:
                            gauge.leave()
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, RSET, NOOP
                        self.reply("250 OK")

        self._server = _DeepBacklogTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
