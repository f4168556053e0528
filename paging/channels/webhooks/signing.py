"""The signature a receiver checks: ``X-Oncall-Signature: v1=<hex>``, the HMAC-SHA256
with the endpoint's secret of ``<X-Oncall-Timestamp>.<raw body>`` (README, "Outgoing
webhooks", has a receiver's snippet)."""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v1"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Oncall-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{VERSION}={digest.hexdigest()}"


def webhook_signature_valid(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` carries a valid signature (a receiver's check; several
    comma-separated signatures are allowed, for a secret being rotated)."""
    expected = webhook_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
