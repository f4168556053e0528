"""VAPID (RFC 8292): the server's P-256 key pair. Browsers subscribe with its public key
(the ``applicationServerKey``), and every push request is signed with its private key,
so a push service delivers to a subscription only what this server sends.

Settings: ``WEBPUSH_VAPID_PRIVATE_KEY`` (base64url, as ``manage.py webpush_keys``
prints it; unset: the channel is off and the console stands in) and
``WEBPUSH_VAPID_SUBJECT`` (a ``mailto:`` or ``https:`` contact the push services may
use; default ``mailto:`` + ``DEFAULT_FROM_EMAIL``). The public key is derived from the
private one.
"""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid, VapidException


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@functools.lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid:
    try:
        return Vapid.from_string(private_key=private_key)
    except (VapidException, ValueError, TypeError) as exc:
        raise ValueError(f"not a VAPID private key ({exc})") from None


def vapid_key() -> Vapid | None:
    """The configured key pair, or None while web push is off."""
    private_key = settings.WEBPUSH_VAPID_PRIVATE_KEY.strip()
    return _vapid(private_key) if private_key else None


def vapid_public_key() -> str:
    """The ``applicationServerKey`` browsers subscribe with (base64url), or "" when off."""
    key = vapid_key()
    if key is None:
        return ""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def vapid_subject() -> str:
    subject = settings.WEBPUSH_VAPID_SUBJECT.strip()
    return subject or f"mailto:{settings.DEFAULT_FROM_EMAIL}"


def vapid_settings_check() -> None:
    """Raise ``ImproperlyConfigured`` naming the variable that is malformed."""
    try:
        vapid_key()
    except ValueError as exc:
        raise ImproperlyConfigured(f"WEBPUSH_VAPID_PRIVATE_KEY: {exc}") from None
    subject = vapid_subject()
    if not subject.startswith(("mailto:", "https://")):
        raise ImproperlyConfigured(
            f"WEBPUSH_VAPID_SUBJECT: {subject!r} must be a mailto: address or an https:// URL"
        )


def vapid_keys_generate() -> tuple[str, str]:
    """A new (private key, public key) pair, base64url: the raw 32-byte private scalar
    and the 65-byte uncompressed public point."""
    key = Vapid()
    key.generate_keys()
    private = key.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(private), b64url(public)
