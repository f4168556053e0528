"""Checking that an SNS message comes from Amazon SNS, and confirming subscriptions.

- ``SigningCertURL`` and ``SubscribeURL`` are fetched only over https (certificate and
  host name checked against the system's trust store, or ``SNS_CA_FILE``), only from a
  host whose name fully matches ``SNS_CERT_HOST_PATTERN`` (default
  ``sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?``), and redirects are not followed (a
  redirect could lead anywhere). Anything else is refused before any connection.
- The signing certificate (PEM, X.509, within its validity period) is cached per URL
  in this process for ``CERT_CACHE_SECONDS``: SNS names a new URL when it rotates
  its key, so a cached URL never changes meaning.
- The signature (base64) is RSA PKCS#1 v1.5 over ``SnsMessage.string_to_sign()``, with
  SHA1 (``SignatureVersion`` 1) or SHA256 (2), checked with ``cryptography``.

``SnsRefused`` (403: forged, wrong host, bad certificate) and ``SnsUnavailable`` (503:
the certificate or the confirmation could not be fetched now; SNS retries 5xx) carry
the reason.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.utils import timezone

from paging.inbound.sns import SnsMessage

CERT_CACHE_SECONDS = 24 * 3600
CERT_CACHE_MAX = 64
CERT_MAX_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 5

_cache: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
_lock = threading.Lock()


class SnsRefused(Exception):
    """The message is not from SNS (or not for us): answer 403, change nothing."""


class SnsUnavailable(Exception):
    """Something SNS serves could not be fetched now: answer 503 so SNS retries."""


def sns_url_check(url: str, field: str) -> None:
    """Refuse (SnsRefused) a URL that is not https on an allowed SNS host."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError:
        raise SnsRefused(f"'{field}' is not a valid URL") from None
    pattern = settings.SNS_CERT_HOST_PATTERN
    if parts.scheme != "https":
        raise SnsRefused(f"'{field}' must be an https URL")
    if parts.username or parts.password or not re.fullmatch(pattern, host):
        raise SnsRefused(f"'{field}' host {host[:80]!r} is not an allowed Amazon SNS host")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then raises HTTPError: never follow it elsewhere


def _opener() -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=settings.SNS_CA_FILE or None)
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())


def _fetch(url: str, what: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "oncall-sns/1"})  # noqa: S310
    try:
        with _opener().open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            data = response.read(CERT_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SnsUnavailable(f"{what}: the SNS host answered {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SnsUnavailable(f"{what}: could not fetch it ({reason})") from None
    if len(data) > CERT_MAX_BYTES:
        raise SnsRefused(f"{what}: larger than {CERT_MAX_BYTES} bytes")
    return data


def _signing_key(url: str) -> rsa.RSAPublicKey:
    now = time.monotonic()
    hit = _cache.get(url)
    if hit is not None and hit[0] > now:
        return hit[1]
    data = _fetch(url, "signing certificate")
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise SnsRefused("'SigningCertURL' does not serve a PEM certificate") from None
    moment = timezone.now()
    if not (certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc):
        raise SnsRefused("the signing certificate is expired or not yet valid")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRefused("the signing certificate does not hold an RSA key")
    with _lock:
        if len(_cache) >= CERT_CACHE_MAX:
            _cache.clear()
        _cache[url] = (now + CERT_CACHE_SECONDS, key)
    return key


def sns_cert_cache_clear() -> None:
    with _lock:
        _cache.clear()


def sns_signature_verify(message: SnsMessage) -> None:
    """Return if ``message`` is signed by SNS's certificate; else SnsRefused/SnsUnavailable."""
    sns_url_check(message.signing_cert_url, "SigningCertURL")
    key = _signing_key(message.signing_cert_url)
    algorithm = hashes.SHA256() if message.signature_version == "2" else hashes.SHA1()  # noqa: S303
    try:
        key.verify(message.signature, message.string_to_sign(), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SnsRefused("the message signature does not match its content") from None


def sns_subscription_confirm_fetch(message: SnsMessage) -> None:
    """Confirm a subscription: GET its SubscribeURL (checked like the certificate URL)."""
    sns_url_check(message.subscribe_url, "SubscribeURL")
    _fetch(message.subscribe_url, "subscription confirmation")
