"""A fake Twilio REST API on 127.0.0.1 for the real ``twilio`` client library.

Answers ``POST /2010-04-01/Accounts/{AC}/Messages.json`` and ``…/Calls.json`` like
Twilio (201 + JSON with a sid), or with a scripted failure: ``fail_next(400, code=21211)``
answers a Twilio error body, ``fail_next(500)`` a server error, ``stall_next(seconds)``
holds the answer back (for client timeouts). Every request is recorded with its form
fields and basic-auth user; ``take()`` hands them to the test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class TwilioRequest:
    method: str
    path: str
    form: dict[str, str]
    multi: dict[str, list[str]]
    account: str

    @property
    def kind(self) -> str:
        if self.path.endswith("/Messages.json"):
            return "sms"
        if self.path.endswith("/Calls.json"):
            return "voice"
        return "other"


@dataclass
class _Scripted:
    status: int = 0
    code: int | None = None
    message: str = ""
    stall: float = 0.0


@dataclass
class FakeTwilio:
    requests: list[TwilioRequest] = field(default_factory=list)
    _script: list[_Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    # Every answer waits this long (a slow or hanging provider); ``stop`` cuts it short.
    latency: float = 0.0
    _stopping: threading.Event = field(default_factory=threading.Event)

    # --- scripting ---------------------------------------------------------------
    def fail_next(self, status: int, *, code: int | None = None, message: str = "") -> None:
        with self._lock:
            self._script.append(_Scripted(status=status, code=code, message=message))

    def stall_next(self, seconds: float) -> None:
        with self._lock:
            self._script.append(_Scripted(stall=seconds))

    # --- results -----------------------------------------------------------------
    def take(self) -> list[TwilioRequest]:
        """Everything received since the last take (and forget it)."""
        with self._lock:
            out, self.requests = self.requests, []
        return out

    def take_one(self) -> TwilioRequest:
        got = self.take()
        assert len(got) == 1, f"expected one request to Twilio, got {len(got)}: {got}"
        return got[0]

    def unexpected(self) -> list[TwilioRequest]:
        return list(self.requests)

    # --- server ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                multi = parse_qs(raw, keep_blank_values=True)
                auth = self.headers.get("Authorization", "")
                account = ""
                if auth.startswith("Basic "):
                    account = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                request = TwilioRequest(
                    "POST", self.path, {k: v[-1] for k, v in multi.items()}, multi, account
                )
                with fake._lock:
                    fake.requests.append(request)
                    scripted = fake._script.pop(0) if fake._script else _Scripted()
                if scripted.stall:
                    time.sleep(scripted.stall)
                elif fake.latency:
                    fake._stopping.wait(fake.latency)
                if scripted.status:
                    self._answer(
                        scripted.status,
                        {
                            "code": scripted.code,
                            "message": scripted.message or f"scripted error {scripted.code}",
                            "more_info": f"https://www.twilio.com/docs/errors/{scripted.code}",
                            "status": scripted.status,
                        },
                    )
                    return
                if request.kind == "sms":
                    sid = "SM" + secrets.token_hex(16)
                    self._answer(201, {"sid": sid, "status": "queued", **_echo(request)})
                elif request.kind == "voice":
                    sid = "CA" + secrets.token_hex(16)
                    self._answer(201, {"sid": sid, "status": "queued", **_echo(request)})
                else:
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})

            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have given up already (timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _echo(request: TwilioRequest) -> dict[str, str]:
    return {"to": request.form.get("To", ""), "from": request.form.get("From", "")}
