"""PagerDuty webhooks v3: signature check and the acknowledge/resolve they carry.

``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]``, each HMAC-SHA256(secret, raw body);
several appear while a secret is being rotated, and any one matching is enough
(compared in constant time). Deliveries are at-least-once: each ``X-Webhook-Id`` is
handled once (``PagerDutyWebhookDelivery`` is unique on it, written in the same
transaction as the action).

Replays: the signature covers the body, not the headers, so a captured body may come
back with a new ``X-Webhook-Id``. Hence also:
- the signed ``event.id`` is unique too: a second delivery of it changes nothing;
- ``event.occurred_at`` must lie within ``PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS`` (5 min)
  before now and at most ``CLOCK_SKEW_SECONDS`` after (the view refuses it otherwise);
- the event acts only on the incident it is about: once PagerDuty's incident
  (``event.data.id``) has acted on one of ours, its events act on that one only; and an
  incident of ours opened after the event occurred is never it (a later incident with
  the same dedup key).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from paging.channels.pagerduty.models import PagerDutyForward, PagerDutyWebhookDelivery
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.kick import kick_engine
from paging.models import Incident

VIA = "pagerduty"
MAX_SIGNATURES = 10
# PagerDuty's clock and ours may disagree a little.
CLOCK_SKEW_SECONDS = 60


def pagerduty_event_age_problem(occurred_at: datetime) -> str:
    """Why an event that occurred then is refused now ("" when it is not)."""
    max_age = settings.PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS
    age = (timezone.now() - occurred_at).total_seconds()
    if age > max_age:
        return f"older than {max_age} seconds: a replay or a very late delivery"
    if age < -CLOCK_SKEW_SECONDS:
        return "in the future"
    return ""


def pagerduty_signature_valid(*, body: bytes, header: str) -> bool:
    secret = settings.PAGERDUTY_WEBHOOK_SECRET
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


def _incident_for_event(
    *, pagerduty_incident_id: str, incident_key: str | None, occurred_at: datetime
) -> Incident | None:
    """The incident this event is about, or None (see the module docstring)."""
    if pagerduty_incident_id:
        bound = (
            PagerDutyWebhookDelivery.objects.filter(
                pagerduty_incident_id=pagerduty_incident_id, incident__isnull=False
            )
            .order_by("received_at", "id")
            .values_list("incident_id", flat=True)
            .first()
        )
        if bound is not None:
            return Incident.objects.filter(pk=bound).first()
    if not incident_key:
        return None
    incident = _incident_for_key(incident_key)
    if incident is not None and incident.created_at > occurred_at + timedelta(
        seconds=CLOCK_SKEW_SECONDS
    ):
        return None  # opened after the event happened: a later incident with that key
    return incident


@dataclass(frozen=True)
class WebhookOutcome:
    outcome: str
    incident_id: int | None = None


HANDLED = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve"}


def pagerduty_webhook_handle(
    *,
    webhook_id: str,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    pagerduty_incident_id: str,
    incident_key: str | None,
) -> WebhookOutcome:
    """Apply one verified, fresh delivery once; a repeated ``webhook_id`` or ``event_id``
    changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = PagerDutyWebhookDelivery.objects.create(
                    webhook_id=webhook_id,
                    event_id=event_id,
                    event_type=event_type[:64],
                    occurred_at=occurred_at,
                    pagerduty_incident_id=pagerduty_incident_id,
                    received_at=now,
                )
        except IntegrityError:
            return WebhookOutcome("duplicate delivery")
        action = HANDLED.get(event_type)
        incident = (
            _incident_for_event(
                pagerduty_incident_id=pagerduty_incident_id,
                incident_key=incident_key,
                occurred_at=occurred_at,
            )
            if action
            else None
        )
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
