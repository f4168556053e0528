"""A push service (RFC 8030) on https://127.0.0.1:<port>, as browsers' push services
behave toward an application server.

``subscribe(application_server_key)`` is what a browser's ``PushManager.subscribe()``
gets from its push service: an endpoint on this fake and the browser's keys (a P-256
key pair and an auth secret the fake keeps, like the browser would). Every push
request is then checked the way a push service checks it: the VAPID ``Authorization``
header (RFC 8292: an ES256 JWT whose ``aud`` is this origin, ``exp`` within 24 hours,
``sub`` a mailto:/https: contact, signed by the key ``k`` the subscription was made
with), a ``TTL``, ``Content-Encoding: aes128gcm``; and the body is decrypted with the
browser's private key and auth secret (``http_ece``, RFC 8291). What arrives is in
``received`` (``take()``); refusals in ``refused``, which the fixture expects empty.

Scripting: ``reply(status, headers)`` answers the next push so (after checking it);
``gone(endpoint)`` makes a subscription answer 410; ``stall_next(seconds)`` accepts the
next push and answers only after ``seconds`` (the sender's answer is lost).
Its TLS certificate is issued by a test CA whose PEM file is ``ca_file``: point
``WEBPUSH_CA_FILE`` there.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes.net import FakeProviderServer
from tests.fakes.sns import certificate, pem

# Valid whatever the tests' clocks say (OpenSSL checks the real one, time-machine moves
# Python's): from 2000 for a century.
LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
CENTURY = 36525


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def tls_material() -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key) PEMs for https://127.0.0.1."""
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate(ca_key, "push test CA", ca=True, valid_from=LONG_AGO, days=CENTURY)  # type: ignore[arg-type]
    server = certificate(
        server_key,  # type: ignore[arg-type]
        "127.0.0.1",
        issuer=(ca_key, ca.subject),  # type: ignore[arg-type]
        hosts=["127.0.0.1", "localhost"],
        valid_from=LONG_AGO,
        days=CENTURY,
    )
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem(ca), pem(server), key_pem


def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    """A browser's subscription keys: (private key, p256dh, auth), base64url."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return private, b64url(public), b64url(secrets.token_bytes(16))


@dataclass
class FakeSubscription:
    id: str
    application_server_key: str  # the VAPID public key the browser subscribed with
    private_key: ec.EllipticCurvePrivateKey
    p256dh: str
    auth: str
    endpoint: str
    gone: bool = False

    def info(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }


@dataclass
class Received:
    """One push the service accepted, decrypted."""

    subscription: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    headers: dict[str, str]
    status: int = 201


@dataclass
class _Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakePushService:
    def __init__(self) -> None:
        self.subscriptions: dict[str, FakeSubscription] = {}
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.requests = 0
        self._scripted: list[_Scripted] = []
        self._stall = 0.0
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory()
        folder = Path(self._dir.name)
        ca_pem, server_pem, key_pem = tls_material()
        self.ca_file = str(folder / "ca.pem")
        (folder / "ca.pem").write_bytes(ca_pem)
        (folder / "server.pem").write_bytes(server_pem)
        (folder / "server.key").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem", folder / "server.key")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers = fake._answer(self.path, dict(self.headers.items()), body)
                with fake._lock:
                    delay, fake._stall = fake._stall, 0.0
                if delay:
                    threading.Event().wait(delay)
                with contextlib.suppress(OSError):  # the sender may have left (timeouts)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.server = FakeProviderServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.origin = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakePushService:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()

    # --- what a browser does ------------------------------------------------------------

    def subscribe(self, application_server_key: str) -> FakeSubscription:
        sub_id = secrets.token_urlsafe(24)
        private, p256dh, auth = browser_keys()
        sub = FakeSubscription(
            id=sub_id,
            application_server_key=application_server_key,
            private_key=private,
            p256dh=p256dh,
            auth=auth,
            endpoint=f"{self.origin}/push/{sub_id}",
        )
        with self._lock:
            self.subscriptions[sub_id] = sub
        return sub

    # --- scripting ----------------------------------------------------------------------

    def gone(self, sub: FakeSubscription) -> None:
        with self._lock:
            sub.gone = True

    def reply(self, status: int, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._scripted.append(_Scripted(status, headers or {}))

    def stall_next(self, seconds: float) -> None:
        with self._lock:
            self._stall = seconds

    def take(self) -> list[Received]:
        with self._lock:
            taken, self.received = self.received, []
        return taken

    # --- the push service ---------------------------------------------------------------

    def _refuse(self, status: int, why: str) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.refused.append(f"{status}: {why}")
        return status, {}

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str]]:
        headers = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests += 1
            sub = self.subscriptions.get(path.removeprefix("/push/"))
            scripted = self._scripted.pop(0) if self._scripted else None
        if sub is None or not path.startswith("/push/"):
            return 404, {}
        if sub.gone:
            return 410, {}
        claims, problem = self._vapid_check(headers.get("authorization", ""), sub)
        if problem:
            return self._refuse(403, problem)
        if "ttl" not in headers or not headers["ttl"].isdigit():
            return self._refuse(400, "no TTL header")
        if headers.get("content-encoding") != "aes128gcm":
            return self._refuse(415, f"content-encoding {headers.get('content-encoding')!r}")
        try:
            plain = http_ece.decrypt(
                body,
                private_key=sub.private_key,
                auth_secret=b64url_decode(sub.auth),
                version="aes128gcm",
            )
            payload = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - any failure is the sender's
            return self._refuse(400, f"cannot decrypt: {exc!r}")
        if scripted is not None:
            return scripted.status, scripted.headers
        with self._lock:
            self.received.append(Received(sub.id, payload, claims, headers))
            number = len(self.received)
        return 201, {"Location": f"{self.origin}/m/msg-{number}"}

    def _vapid_check(self, authorization: str, sub: FakeSubscription) -> tuple[dict, str]:
        """(claims, "") for a valid RFC 8292 header, else ({}, why not)."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return {}, f"Authorization is not vapid: {authorization[:30]!r}"
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != sub.application_server_key:
            return {}, "k is not the key the subscription was made with"
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            header = json.loads(b64url_decode(head_b64))
            claims = json.loads(b64url_decode(claims_b64))
            sig = b64url_decode(sig_b64)
            public = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64url_decode(key)
            )
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature) as exc:
            return {}, f"JWT does not verify: {exc!r}"
        if header.get("alg") != "ES256":
            return {}, f"alg {header.get('alg')!r}"
        if claims.get("aud") != self.origin:
            return {}, f"aud {claims.get('aud')!r} is not {self.origin}"
        now = time.time()
        if not now < int(claims.get("exp", 0)) <= now + 24 * 3600:
            return {}, f"exp {claims.get('exp')!r} not within 24 h"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return {}, f"sub {claims.get('sub')!r}"
        return claims, ""
