"""A fake Slack Web API on 127.0.0.1 for the real ``slack_sdk.WebClient``.

Every call is recorded (method, parameters, token). Tests take the calls they
expect with ``take()``; the ``fake_slack`` fixture fails the test if any call was
left untaken, so a message nobody expected (a page after an ack) fails.
Answers are Slack's shapes; ``reply(method, ...)`` queues a scripted answer (an
error, a 429 with Retry-After, a 500) for the next call of that method.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    token: str


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.scripted: dict[str, list[Scripted]] = {}
        self.users_by_email: dict[str, str] = {}
        # Set when a call of that method arrives (for tests that race a send).
        self.arrived: dict[str, threading.Event] = defaultdict(threading.Event)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle(self.rfile.read(length))

            def _handle(self, raw: bytes) -> None:
                parts = urlsplit(self.path)
                method = parts.path.rsplit("/", 1)[-1]
                params: dict[str, Any] = dict(parse_qsl(parts.query))
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw.decode()))
                if isinstance(params.get("blocks"), str):
                    params["blocks"] = json.loads(params["blocks"])
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                status, body, headers, delay = fake._answer(method, params, token)
                if delay:
                    threading.Event().wait(delay)
                data = body if isinstance(body, str) else json.dumps(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data.encode())))
                    self.end_headers()
                    self.wfile.write(data.encode())
                except OSError:  # the client timed out and left
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api"

    def reply(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next call of ``method`` like this (instead of the default)."""
        with self._lock:
            self.scripted.setdefault(method, []).append(
                Scripted(status, body, headers or {}, delay)
            )

    def _answer(
        self, method: str, params: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any] | str, dict[str, str], float]:
        with self._lock:
            self.calls.append(SlackCall(method, params, token))
            self.arrived[method].set()
            queue = self.scripted.get(method)
            if queue:
                s = queue.pop(0)
                body = s.body if s.body is not None else {"ok": s.status == 200}
                return s.status, body, s.headers, s.delay
            return 200, self._default(method, params), {}, 0.0

    def _default(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            ts = f"1763609647.{next(self._ts):06d}"
            return {"ok": True, "channel": params["channel"], "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1763609700.{next(self._ts):06d}"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params["users"])[1:]}}
        if method == "users.lookupByEmail":
            user = self.users_by_email.get(params.get("email", ""))
            if user is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user}}
        return {"ok": False, "error": "unknown_method"}

    def take(self, method: str | None = None) -> list[SlackCall]:
        """Remove and return the recorded calls (of ``method``, or all)."""
        with self._lock:
            taken = [c for c in self.calls if method is None or c.method == method]
            self.calls = [c for c in self.calls if c not in taken]
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
