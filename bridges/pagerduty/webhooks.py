"""PagerDuty webhooks v3: signature check and the acknowledge/resolve they carry.

``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]``, each HMAC-SHA256(secret, raw body);
several appear while a secret is being rotated, and any one matching is enough
(compared in constant time). Deliveries are at-least-once: each ``X-Webhook-Id`` is
handled once (``PagerDutyWebhookDelivery`` is unique on it, written in the same
transaction as the action).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bridges.models import PagerDutyForward, PagerDutyWebhookDelivery
from paging.kick import kick_engine
from paging.models import Incident
from paging.services import incident_acknowledge, incident_resolve

VIA = "pagerduty"
MAX_SIGNATURES = 10


def pagerduty_signature_valid(*, body: bytes, header: str) -> bool:
    secret = getattr(settings, "PAGERDUTY_WEBHOOK_SECRET", "") or ""
    if not secret or not header:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
    matched = False
    for part in header.split(",")[:MAX_SIGNATURES]:
        version, _, value = part.strip().partition("=")
        if version == "v1":
            # Every candidate is compared (no early exit) so timing says nothing.
            matched |= hmac.compare_digest(expected, value.strip().encode("utf-8", "replace"))
    return matched


def _incident_for_key(incident_key: str) -> Incident | None:
    """Our incident for PagerDuty's ``incident_key``: the dedup key we forwarded with,
    else an open incident whose own dedup key it is (when exactly one)."""
    forward = (
        PagerDutyForward.objects.filter(dedup_key=incident_key).order_by("-triggered_at").first()
    )
    if forward is not None:
        return Incident.objects.get(pk=forward.incident_id)
    matches = list(
        Incident.objects.filter(dedup_key=incident_key, status__in=Incident.OPEN_STATUSES)[:2]
    )
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class WebhookOutcome:
    outcome: str
    incident_id: int | None = None


HANDLED = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve"}


def pagerduty_webhook_handle(
    *, webhook_id: str, event_type: str, incident_key: str | None
) -> WebhookOutcome:
    """Apply one verified delivery once; a repeated ``webhook_id`` changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = PagerDutyWebhookDelivery.objects.create(
                    webhook_id=webhook_id, event_type=event_type[:64], received_at=now
                )
        except IntegrityError:
            return WebhookOutcome("duplicate delivery")
        action = HANDLED.get(event_type)
        incident = _incident_for_key(incident_key) if action and incident_key else None
        if action is None:
            outcome = WebhookOutcome("ignored: event type not handled")
        elif incident is None:
            outcome = WebhookOutcome("ignored: no incident for this key")
        else:
            service = incident_acknowledge if action == "acknowledge" else incident_resolve
            result = service(incident_id=incident.pk, via=VIA)
            outcome = WebhookOutcome(
                f"{action}d" if result.changed else f"{action}: no change", incident.pk
            )
            kick_engine()
        PagerDutyWebhookDelivery.objects.filter(pk=delivery.pk).update(
            outcome=outcome.outcome, incident_id=outcome.incident_id
        )
    return outcome
