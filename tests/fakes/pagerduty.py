"""A fake PagerDuty Events API v2 (``POST /v2/enqueue``) on 127.0.0.1.

Records every event; ``take()`` removes the expected ones and the ``fake_pagerduty``
fixture fails the test on any left over. ``reply(...)`` scripts the next answer;
``stall_next(seconds)`` records the next event as usual and answers only after
``seconds`` (the client's answer is lost, PagerDuty has the event).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.net import LoopbackFake, QuietHandler


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakePagerDuty(LoopbackFake):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.scripted: list[Scripted] = []
        self.stall = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
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
                self.answer(status, json.dumps(body).encode(), headers)

        self.serve(Handler)

    @property
    def url(self) -> str:
        return self.origin

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
