"""A fake Twilio REST API on 127.0.0.1 for the real ``twilio`` client library.

Answers ``POST /2010-04-01/Accounts/{AC}/Messages.json`` and ``…/Calls.json`` like
Twilio (201 + JSON with a sid), or with a scripted failure: ``fail_next(400, code=21211)``
answers a Twilio error body, ``fail_next(500)`` a server error. Every POST is recorded
with its form fields and basic-auth user; ``take()`` hands them to the test.

What Twilio accepted is kept in ``accepted`` (sid, to, from, body, ``date_created`` and
``date_sent`` in Twilio's RFC 2822 format) and answered to ``GET …/Messages.json`` and
``GET …/Calls.json`` list requests in Twilio's list shape (newest first, ``PageSize``
and ``Page`` paging with ``next_page_uri``; ``To``, ``From``, ``DateSent>``/``StartTime>``
filters, which like Twilio's compare dates only). Lookups are recorded in ``lookups``,
apart from the sends.

"Maybe sent" cases: ``stall_next(seconds)`` accepts the request (it is in ``accepted``)
and holds the answer back, so a client with a shorter timeout gives up on a message
Twilio has; ``drop_next()`` accepts it and closes the connection without an answer.
``queue_only = True`` leaves new messages/calls queued (no ``date_sent``/``start_time``),
like a busy Twilio account; such rows never match a ``DateSent>``/``StartTime>`` filter.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.net import FakeProviderServer

RFC2822 = "%a, %d %b %Y %H:%M:%S +0000"


def rfc2822(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime(RFC2822) if when is not None else None


@dataclass
class TwilioRequest:
    method: str
    path: str
    form: dict[str, str]
    multi: dict[str, list[str]]
    account: str

    @property
    def kind(self) -> str:
        return _kind(self.path)


@dataclass
class Accepted:
    """A message or call Twilio accepted (whether or not its answer reached the client)."""

    kind: str  # "sms" | "voice"
    sid: str
    account: str
    to: str
    from_: str
    body: str
    url: str
    date_created: datetime
    date_sent: datetime | None

    def resource(self) -> dict[str, Any]:
        uri_kind = "Messages" if self.kind == "sms" else "Calls"
        common = {
            "sid": self.sid,
            "account_sid": self.account,
            "to": self.to,
            "from": self.from_,
            "direction": "outbound-api",
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_sent or self.date_created),
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account}/{uri_kind}/{self.sid}.json",
        }
        if self.kind == "sms":
            return {
                **common,
                "body": self.body,
                "status": "sent" if self.date_sent else "queued",
                "date_sent": rfc2822(self.date_sent),
                "num_segments": "1",
                "num_media": "0",
                "error_code": None,
                "error_message": None,
            }
        return {
            **common,
            "status": "ringing" if self.date_sent else "queued",
            "start_time": rfc2822(self.date_sent),
            "end_time": None,
            "duration": None,
        }


@dataclass
class _Scripted:
    status: int = 0
    code: int | None = None
    message: str = ""
    stall: float = 0.0
    drop: bool = False


@dataclass
class FakeTwilio:
    requests: list[TwilioRequest] = field(default_factory=list)
    lookups: list[TwilioRequest] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    queue_only: bool = False
    _script: list[_Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: FakeProviderServer | None = None
    # Every answer waits this long (a slow or hanging provider); ``stop`` cuts it short.
    latency: float = 0.0
    _stopping: threading.Event = field(default_factory=threading.Event)

    # --- scripting ---------------------------------------------------------------
    def fail_next(self, status: int, *, code: int | None = None, message: str = "") -> None:
        with self._lock:
            self._script.append(_Scripted(status=status, code=code, message=message))

    def stall_next(self, seconds: float) -> None:
        """Accept the next send, then answer only after ``seconds``."""
        with self._lock:
            self._script.append(_Scripted(stall=seconds))

    def drop_next(self) -> None:
        """Accept the next send, then close the connection without answering."""
        with self._lock:
            self._script.append(_Scripted(drop=True))

    # --- results -----------------------------------------------------------------
    def take(self) -> list[TwilioRequest]:
        """Every send received since the last take (and forget it)."""
        with self._lock:
            out, self.requests = self.requests, []
        return out

    def take_one(self) -> TwilioRequest:
        got = self.take()
        assert len(got) == 1, f"expected one request to Twilio, got {len(got)}: {got}"
        return got[0]

    def take_lookups(self) -> list[TwilioRequest]:
        with self._lock:
            out, self.lookups = self.lookups, []
        return out

    def unexpected(self) -> list[TwilioRequest]:
        return list(self.requests)

    # --- server ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _accept(self, request: TwilioRequest) -> Accepted:
        now = datetime.now(UTC)  # time-machine moves this clock in tests
        accepted = Accepted(
            kind=request.kind,
            sid=("SM" if request.kind == "sms" else "CA") + secrets.token_hex(16),
            account=request.account,
            to=request.form.get("To", ""),
            from_=request.form.get("From", ""),
            body=request.form.get("Body", ""),
            url=request.form.get("Url", ""),
            date_created=now,
            date_sent=None if self.queue_only else now,
        )
        self.accepted.append(accepted)
        return accepted

    def _list(self, request: TwilioRequest, query: dict[str, str]) -> dict[str, Any]:
        kind = request.kind
        after_name = "DateSent>" if kind == "sms" else "StartTime>"
        after = date.fromisoformat(query[after_name][:10]) if query.get(after_name) else None
        with self._lock:
            rows = [a for a in self.accepted if a.kind == kind]
        rows = [
            a
            for a in rows
            if a.account == request.account
            and (not query.get("To") or a.to == query["To"])
            and (not query.get("From") or a.from_ == query["From"])
            and (after is None or (a.date_sent is not None and a.date_sent.date() >= after))
        ]
        # Newest first; among equal times the later accepted first (a stable order).
        rows = sorted(enumerate(rows), key=lambda p: (p[1].date_created, p[0]), reverse=True)
        size = max(1, min(int(query.get("PageSize") or 50), 1000))
        page = int(query.get("Page") or 0)
        chunk = [a.resource() for _, a in rows[page * size : (page + 1) * size]]
        base = urlsplit(request.path).path

        def uri(number: int) -> str:
            keep = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}
            token = {"PageToken": f"PA{number}"} if number else {}
            return f"{base}?{urlencode({**keep, 'PageSize': size, 'Page': number, **token})}"

        more = (page + 1) * size < len(rows)
        return {
            "messages" if kind == "sms" else "calls": chunk,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
        }

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _account(self) -> str:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    return base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                return ""

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                request = TwilioRequest("GET", self.path, query, {}, self._account())
                with fake._lock:
                    fake.lookups.append(request)
                if request.kind not in ("sms", "voice"):
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                self._answer(200, fake._list(request, query))

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                multi = parse_qs(raw, keep_blank_values=True)
                request = TwilioRequest(
                    "POST", self.path, {k: v[-1] for k, v in multi.items()}, multi, self._account()
                )
                with fake._lock:
                    fake.requests.append(request)
                    scripted = fake._script.pop(0) if fake._script else _Scripted()
                    accepted = (
                        fake._accept(request)
                        if not scripted.status and request.kind in ("sms", "voice")
                        else None
                    )
                if scripted.stall:
                    time.sleep(scripted.stall)
                elif fake.latency:
                    fake._stopping.wait(fake.latency)
                if scripted.drop:
                    # Accepted, but the answer never reaches the client.
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
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
                if accepted is not None:
                    self._answer(201, accepted.resource())
                else:
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})

            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                # The client may have given up already (timeout tests).
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self._server = FakeProviderServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _kind(path: str) -> str:
    path = urlsplit(path).path
    if path.endswith("/Messages.json"):
        return "sms"
    if path.endswith("/Calls.json"):
        return "voice"
    return "other"
