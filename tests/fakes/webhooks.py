"""A webhook receiver on 127.0.0.1: records every POST (path, headers, raw body) and
answers 200, or what ``reply(...)`` scripted for the next requests (a 500, a 429 with
``Retry-After``, an answer that comes after the client's timeout…)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.net import LoopbackFake, QuietHandler


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


class FakeWebhookReceiver(LoopbackFake):
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.received.append(Received(self.path, dict(self.headers.items()), raw))
                    answer = fake.scripted.pop(0) if fake.scripted else Scripted(200)
                if answer.stall:
                    threading.Event().wait(answer.stall)
                self.answer(answer.status, b'{"ok": true}', answer.headers)

        self.serve(Handler)

    def url(self, path: str = "/hooks/oncall") -> str:
        return f"{self.origin}{path}"

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
