"""``POST /pagerduty/webhooks/``: PagerDuty webhooks v3.

403 without a valid signature (nothing changes); 400 for a malformed body, a missing
``X-Webhook-Id``, ``event.id`` or ``event.occurred_at``, or an event that occurred more
than ``PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS`` ago or in the future (a replay: nothing
changes); 200 otherwise, also for event types we do not handle (PagerDuty would retry
anything else) and for duplicates.
"""

from __future__ import annotations

import logging
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from paging.channels.pagerduty.webhooks import (
    pagerduty_event_age_problem,
    pagerduty_signature_valid,
    pagerduty_webhook_handle,
)
from paging.inbound.body import BodyInvalid, BodyTooLarge, body_read, json_object_decode

logger = logging.getLogger(__name__)

WEBHOOK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PAGERDUTY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _error(status: int, field: str, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason, "field": field}, status=status)


@csrf_exempt
@require_POST
def pagerduty_webhook(request: HttpRequest) -> HttpResponse:
    try:
        body = body_read(request)
    except BodyTooLarge as exc:
        return _error(413, "body", str(exc))
    except BodyInvalid as exc:
        return _error(400, "body", str(exc))
    if not pagerduty_signature_valid(
        body=body, header=request.headers.get("X-PagerDuty-Signature", "")
    ):
        logger.warning("pagerduty webhook refused: bad or missing signature")
        return _error(403, "X-PagerDuty-Signature", "missing or invalid signature")
    webhook_id = request.headers.get("X-Webhook-Id", "").strip()
    if not WEBHOOK_ID.match(webhook_id):
        return _error(400, "X-Webhook-Id", "missing or malformed")
    try:
        doc = json_object_decode(body)
    except BodyInvalid as exc:
        return _error(400, "body", str(exc))
    event = doc.get("event")
    if not isinstance(event, dict):
        return _error(400, "event", "must be an object")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        return _error(400, "event.event_type", "must be a non-empty string")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not WEBHOOK_ID.match(event_id):
        return _error(400, "event.id", "must be an id of letters, digits and ._:-")
    raw_occurred = event.get("occurred_at")
    occurred_at = parse_datetime(raw_occurred) if isinstance(raw_occurred, str) else None
    if occurred_at is None or occurred_at.tzinfo is None:
        return _error(400, "event.occurred_at", "must be an ISO 8601 time with a zone")
    stale = pagerduty_event_age_problem(occurred_at)
    if stale:
        logger.warning("pagerduty webhook refused: event %s occurred %s", event_id, stale)
        return _error(400, "event.occurred_at", stale)
    data = event.get("data")
    if data is not None and not isinstance(data, dict):
        return _error(400, "event.data", "must be an object")
    pagerduty_incident_id = (data or {}).get("id") or ""
    if not isinstance(pagerduty_incident_id, str) or (
        pagerduty_incident_id and not PAGERDUTY_ID.match(pagerduty_incident_id)
    ):
        return _error(400, "event.data.id", "must be a PagerDuty id")
    incident_key = (data or {}).get("incident_key")
    if incident_key is not None and not isinstance(incident_key, str):
        return _error(400, "event.data.incident_key", "must be a string")
    if incident_key is not None and len(incident_key) > 255:
        return _error(400, "event.data.incident_key", "longer than 255 characters")
    outcome = pagerduty_webhook_handle(
        webhook_id=webhook_id,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        pagerduty_incident_id=pagerduty_incident_id,
        incident_key=incident_key,
    )
    return JsonResponse({"status": outcome.outcome, "incident": outcome.incident_id})
