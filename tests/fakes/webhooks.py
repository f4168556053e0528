"""A webhook receiver on 127.0.0.1: records every POST (path, headers, raw body) and
answers 200, or what ``reply(...)`` scripted for the next requests (a 500, a 429 with
``Retry-After``, an answer that comes after the client's timeout…)."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.net import FakeProviderServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (longer than the client's timeout: its answer lost).
    stall: float = 0.0


class FakeWebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.received.append(Received(self.path, dict(self.headers.items()), raw))
                    answer = fake.scripted.pop(0) if fake.scripted else Scripted(200)
                if answer.stall:
                    threading.Event().wait(answer.stall)
                data = b'{"ok": true}'
                with contextlib.suppress(OSError):
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self.server = FakeProviderServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/hooks/oncall") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def reply(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
        stall: float = 0.0,
    ) -> None:
        with self._lock:
            self.scripted.extend(Scripted(status, headers or {}, stall) for _ in range(times))

    def take(self) -> list[Received]:
        """What arrived since the last call (and forget it)."""
        with self._lock:
            taken, self.received = self.received, []
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
