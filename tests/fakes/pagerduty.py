"""A fake PagerDuty Events API v2 (``POST /v2/enqueue``) on 127.0.0.1.

Records every event; ``take()`` removes the expected ones and the ``fake_pagerduty``
fixture fails the test on any left over. ``reply(...)`` scripts the next answer;
``stall_next(seconds)`` records the next event as usual and answers only after
``seconds`` (the client's answer is lost, PagerDuty has the event).
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.net import FakeProviderServer


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakePagerDuty:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.scripted: list[Scripted] = []
        self.stall = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/v2/enqueue":
                    status, body, headers = 404, {"status": "not found"}, {}
                else:
                    status, body, headers = fake._answer(json.loads(raw))
                with fake._lock:
                    delay, fake.stall = fake.stall, 0.0
                if delay:
                    threading.Event().wait(delay)
                data = json.dumps(body).encode()
                with contextlib.suppress(OSError):  # the client may have left (timeouts)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self.server = FakeProviderServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(
        self,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self.scripted.append(Scripted(status, body or {"status": "error"}, headers or {}))

    def stall_next(self, seconds: float) -> None:
        with self._lock:
            self.stall = seconds

    def _answer(self, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.events.append(event)
            if self.scripted:
                s = self.scripted.pop(0)
                return s.status, s.body, s.headers
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve") or not (
            event.get("routing_key")
        ):
            return 400, {"status": "invalid event", "message": "Event object is invalid"}, {}
        dedup_key = event.get("dedup_key") or "generated-key"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, {}

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.events = self.events, []
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
