"""Subscribing a browser: the subscription it posts (endpoint, keys) checked, stored, and
made a ``webpush`` contact method of the engineer through the people service.

A contact method's value is the subscription's ``ref`` (``models.py``); a value names
a subscription this server stored, so a method of this kind is made by subscribing in
a browser (``/me/contact/``), not by typing one (the API and the config file accept
the ref of a stored subscription, e.g. a config exported from this database).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from oncall.audit.services import audit_record, audit_snapshot
from oncall.people.models import ContactMethod, Engineer
from oncall.people.services.directory import (
    contact_method_create,
    contact_method_enable,
    contact_method_update,
)
from paging.channels.webpush.models import WebPushSubscription
from paging.channels.webpush.vapid import vapid_key

KIND = "webpush"
ENDPOINT_MAX = 2048
HOST_MAX = 200
_REF = re.compile(r"[a-z0-9.:\[\]-]{1,200}/[0-9a-f]{20}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True)
class SubscriptionIn:
    """A browser's subscription, checked: ``PushSubscription.toJSON()``'s fields."""

    endpoint: str
    p256dh: str
    auth: str


def _b64url_bytes(value: str) -> bytes | None:
    if not _B64URL.fullmatch(value):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def _endpoint_problem(endpoint: str) -> str:
    if not endpoint:
        return "is required: the push service URL the browser subscribed at"
    if len(endpoint) > ENDPOINT_MAX:
        return f"is longer than {ENDPOINT_MAX} characters"
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https":
        return "must be an https:// URL (push services are only reached over TLS)"
    if not host or parts.username or parts.password or any(c.isspace() for c in endpoint):
        return "is not a push service URL (a host, no user name or spaces)"
    if len(parts.netloc) > HOST_MAX:
        return f"has a host longer than {HOST_MAX} characters"
    return ""


def _p256dh_problem(p256dh: str) -> str:
    raw = _b64url_bytes(p256dh)
    if raw is None or len(raw) != 65 or raw[0] != 4:
        return (
            "must be the browser's P-256 public key: 65 bytes (an uncompressed point), "
            "base64url (87 characters)"
        )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return "is not a point on the P-256 curve"
    return ""


def _auth_problem(auth: str) -> str:
    raw = _b64url_bytes(auth)
    if raw is None or len(raw) != 16:
        return "must be the browser's auth secret: 16 bytes, base64url (22 characters)"
    return ""


def subscription_clean(*, endpoint: str, p256dh: str, auth: str) -> SubscriptionIn:
    """The subscription, tidied; ``ValidationError`` naming each field that is wrong."""
    endpoint, p256dh, auth = (v.strip() for v in (endpoint or "", p256dh or "", auth or ""))
    problems = {
        "endpoint": _endpoint_problem(endpoint),
        "p256dh": _p256dh_problem(p256dh),
        "auth": _auth_problem(auth),
    }
    errors = {field: [text] for field, text in problems.items() if text}
    if errors:
        raise ValidationError(errors)
    return SubscriptionIn(endpoint=endpoint, p256dh=p256dh.rstrip("="), auth=auth.rstrip("="))


def subscription_ref(endpoint: str) -> str:
    """The contact-method value naming the subscription at ``endpoint``."""
    host = urlsplit(endpoint).netloc.lower()
    return f"{host}/{hashlib.sha256(endpoint.encode()).hexdigest()[:20]}"


def validate_subscription_ref(value: str) -> None:
    """A ``webpush`` contact value names a subscription stored here (``ChannelSpec.validate``)."""
    if not _REF.fullmatch(value or ""):
        raise ValidationError(
            f"{value!r} is not a push subscription: subscribe a browser on /me/contact/"
            " (Page me on this device)"
        )
    if not WebPushSubscription.objects.filter(ref=value).exists():
        raise ValidationError(
            f"no browser subscription {value!r} is stored here: subscribe the browser on"
            " /me/contact/ (Page me on this device)"
        )


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Chrome on Android", from the browser's User-Agent: a default label people can
    tell their devices apart by ("" when it says nothing we know)."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system


@dataclass(frozen=True)
class Subscribed:
    contact_method: ContactMethod
    outcome: str  # "created" | "enabled" | "unchanged" | "updated"


def _subscription_store(clean: SubscriptionIn, user_agent: str) -> WebPushSubscription:
    ref = subscription_ref(clean.endpoint)
    sub = WebPushSubscription.objects.select_for_update().filter(ref=ref).first()
    if sub is None:
        sub = WebPushSubscription.objects.create(
            ref=ref,
            endpoint=clean.endpoint,
            p256dh=clean.p256dh,
            auth=clean.auth,
            user_agent=user_agent[:255],
        )
        audit_record("create", sub)
    elif (sub.endpoint, sub.p256dh, sub.auth) != (clean.endpoint, clean.p256dh, clean.auth):
        before = audit_snapshot(sub)
        sub.endpoint, sub.p256dh, sub.auth = clean.endpoint, clean.p256dh, clean.auth
        sub.save(update_fields=["endpoint", "p256dh", "auth", "updated_at"])
        audit_record("update", sub, before=before)
    return sub


def webpush_subscribe(
    *,
    engineer: Engineer,
    endpoint: str,
    p256dh: str,
    auth: str,
    label: str = "",
    user_agent: str = "",
) -> Subscribed:
    """Page ``engineer`` on the browser that posted this subscription.

    Idempotent: the same subscription again keeps the one contact method (its keys
    brought up to date, enabled again if a failure had disabled it). Not verified by a
    code: the subscription proves the device (README, "Web push").
    """
    if vapid_key() is None:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    "web push is not set up on this server (WEBPUSH_VAPID_PRIVATE_KEY)"
                ]
            }
        )
    clean = subscription_clean(endpoint=endpoint, p256dh=p256dh, auth=auth)
    label = (label or "").strip()
    with transaction.atomic():
        sub = _subscription_store(clean, user_agent or "")
        cm = ContactMethod.objects.filter(engineer=engineer, kind=KIND, value=sub.ref).first()
        if cm is None:
            cm = contact_method_create(
                engineer=engineer,
                kind=KIND,
                value=sub.ref,
                label=label or device_label(user_agent or ""),
            )
            return Subscribed(cm, "created")
        outcome = "unchanged"
        if cm.disabled_at is not None:
            cm = contact_method_enable(contact_method=cm)
            outcome = "enabled"
        if label and label != cm.label:
            cm = contact_method_update(contact_method=cm, label=label)
            outcome = "updated" if outcome == "unchanged" else outcome
    return Subscribed(cm, outcome)
