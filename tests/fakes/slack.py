"""A fake Slack Web API on 127.0.0.1 for the real ``slack_sdk.WebClient``.

Every call is recorded (method, parameters, token). Tests take the calls they
expect with ``take()``; the ``fake_slack`` fixture fails the test if any call was
left untaken, so a message nobody expected (a page after an ack) fails.
Answers are Slack's shapes; ``reply(method, ...)`` queues a scripted answer (an
error, a 429 with Retry-After, a 500) for the next call of that method.

Posted messages (``chat.postMessage``, with their ``metadata``) are kept per channel in
``posted`` and answered by ``conversations.history`` (newest first; ``oldest``/``latest``
/``inclusive``, ``limit`` and ``cursor`` paging; the metadata only with
``include_all_metadata``). Their ``ts`` follows the clock (time-machine in tests).
"Maybe sent" cases: ``stall_next(method, seconds)`` does the call (a post is in
``posted``) and answers only after ``seconds``; ``drop_next(method)`` does it and closes
the connection without an answer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.net import LoopbackFake, QuietHandler


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
    # Do the call as usual (a post is posted) and then delay or drop the answer.
    accept: bool = False
    drop: bool = False


class FakeSlack(LoopbackFake):
    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.scripted: dict[str, list[Scripted]] = {}
        self.users_by_email: dict[str, str] = {}
        # channel id -> messages posted there, oldest first (Slack's message objects).
        self.posted: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # Set when a call of that method arrives (for tests that race a send).
        self.arrived: dict[str, threading.Event] = defaultdict(threading.Event)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
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
                status, body, headers, delay, drop = fake._answer(method, params, token)
                if delay:
                    threading.Event().wait(delay)
                if drop:  # done, but the answer never reaches the client
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = body if isinstance(body, str) else json.dumps(body)
                self.answer(status, data.encode(), headers, "application/json; charset=utf-8")

        self.serve(Handler)

    @property
    def url(self) -> str:
        return self.origin

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

    def stall_next(self, method: str, seconds: float) -> None:
        """Do the next call of ``method`` (a post is posted), answer after ``seconds``."""
        with self._lock:
            self.scripted.setdefault(method, []).append(Scripted(delay=seconds, accept=True))

    def drop_next(self, method: str) -> None:
        """Do the next call of ``method``, then close the connection without answering."""
        with self._lock:
            self.scripted.setdefault(method, []).append(Scripted(accept=True, drop=True))

    def _answer(
        self, method: str, params: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any] | str, dict[str, str], float, bool]:
        with self._lock:
            self.calls.append(SlackCall(method, params, token))
            self.arrived[method].set()
            queue = self.scripted.get(method)
            if queue:
                s = queue.pop(0)
                if s.accept:
                    return 200, self._default(method, params), {}, s.delay, s.drop
                body = s.body if s.body is not None else {"ok": s.status == 200}
                return s.status, body, s.headers, s.delay, False
            return 200, self._default(method, params), {}, 0.0, False

    def _next_ts(self) -> str:
        # Seconds from the (possibly frozen) clock, a counter for uniqueness and order.
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params["channel"])
        ts = self._next_ts()
        posted: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "text": params.get("text", ""),
            "bot_id": "B0FAKEBOT",
            "app_id": "A0FAKEAPP",
        }
        if params.get("blocks"):
            posted["blocks"] = params["blocks"]
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata:
            posted["metadata"] = metadata
        self.posted[channel].append(posted)
        return {"ok": True, "channel": channel, "ts": ts, "message": posted}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self.posted and not channel.startswith(("C", "D", "G")):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        rows = [
            m
            for m in reversed(self.posted.get(channel, []))
            if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        ]
        limit = max(1, min(int(params.get("limit") or 100), 999))
        start = int(params.get("cursor") or 0)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        messages = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page
        ]
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _default(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            return self._post(params)
        if method == "conversations.history":
            return self._history(params)
        if method == "chat.update":
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
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
