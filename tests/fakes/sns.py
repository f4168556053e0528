"""A loopback stand-in for Amazon SNS's https endpoints, and an SNS message signer.

``FakeSns`` serves, over TLS on ``https://localhost:<port>``:
- ``GET /<name>.pem``: a signing certificate (``certificates`` maps path -> PEM bytes);
- ``GET /?Action=ConfirmSubscription&…``: SNS's confirmation answer;
and records every request path (``requests``). Its TLS certificate is issued by a test
CA whose PEM file is ``ca_file``: point ``SNS_CA_FILE`` there and allow ``localhost`` in
``SNS_CERT_HOST_PATTERN``, and the service fetches from it exactly as from AWS (https,
certificate and host name checked).

``SnsSigner`` holds an RSA key and a self-signed certificate for it, and signs message
dicts the way SNS does (SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA over the
canonical string of AWS's documentation, built here independently of the service).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.fakes.net import FakeProviderServer

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
]

CONFIRM_ANSWER = b"""<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
<ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:oncall-alarms:1</SubscriptionArn></ConfirmSubscriptionResult>
</ConfirmSubscriptionResponse>"""


@functools.cache
def _key(number: int = 0) -> rsa.RSAPrivateKey:
    """RSA key ``number``: made once per test process (each takes a fraction of a second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _tls_material() -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key) PEMs for https://localhost."""
    ca_key, server_key = _key(100), _key(101)
    ca_cert = certificate(ca_key, "oncall test CA", ca=True)
    server_cert = certificate(
        server_key, "localhost", issuer=(ca_key, ca_cert.subject), hosts=["localhost", "127.0.0.1"]
    )
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem(ca_cert), pem(server_cert), key_pem


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    key: rsa.RSAPrivateKey,
    common_name: str,
    *,
    issuer: tuple[rsa.RSAPrivateKey, x509.Name] | None = None,
    ca: bool = False,
    hosts: list[str] | None = None,
    valid_from: dt.datetime | None = None,
    days: int = 30,
) -> x509.Certificate:
    """An X.509 certificate for ``key``: self-signed, or issued by ``issuer``."""
    start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    signing_key, issuer_name = issuer or (key, _name(common_name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class SnsSigner:
    """Signs SNS messages with its own key; ``cert_pem`` is the certificate to serve."""

    def __init__(
        self, *, valid_from: dt.datetime | None = None, days: int = 30, key_number: int = 0
    ) -> None:
        self.key = _key(key_number)
        self.cert_pem = pem(
            certificate(self.key, "sns.amazonaws.com", valid_from=valid_from, days=days)
        )

    @staticmethod
    def string_to_sign(message: dict[str, Any]) -> bytes:
        keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else CONFIRMATION_KEYS
        return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()

    def sign(self, message: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
        """``message`` with ``SignatureVersion`` and ``Signature`` set (a new dict)."""
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
        signed = {**message, "SignatureVersion": version}
        signature = self.key.sign(self.string_to_sign(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(self.path)
        if self.path.startswith("/?Action=ConfirmSubscription"):
            self._answer(200, CONFIRM_ANSWER, "text/xml")
            return
        body = fake.certificates.get(self.path.split("?")[0])
        if body is None:
            self._answer(404, b"not found", "text/plain")
            return
        self._answer(200, body, "application/x-x509-ca-cert")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(FakeProviderServer):
    fake: FakeSns


class FakeSns:
    """Start with ``with FakeSns() as sns:``; ``sns.url(path)`` is an https URL on it."""

    def __init__(self) -> None:
        self.certificates: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory()
        ca_pem, server_pem, key_pem = _tls_material()
        folder = Path(self._dir.name)
        self.ca_file = str(folder / "ca.pem")
        (folder / "ca.pem").write_bytes(ca_pem)
        (folder / "server.pem").write_bytes(server_pem)
        (folder / "server.key").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem", folder / "server.key")
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def __enter__(self) -> FakeSns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()
