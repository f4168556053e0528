"""The inbound alert endpoints: parse, look up the integration, ingest, answer.

Answers (JSON):
- 202 after ``alerts_ingest`` returned, i.e. after its transaction committed;
- 400 malformed body (invalid JSON, wrong types, missing fields): ``errors`` names each
  field and the reason;
- 404 unknown token, or a token of another kind of integration (Alertmanager and
  webhook endpoints); ``/v2/enqueue`` answers an unknown routing key with 400
  ``"Invalid routing key"`` as PagerDuty does;
- 405 anything but POST; 413 a body over ``INBOUND_MAX_BODY_BYTES`` (512 KiB);
- 503 (with Retry-After) when the database is unavailable, so senders retry
  (Alertmanager and PagerDuty clients retry 5xx, and drop 4xx): the token lookup and
  the ingest alike. A token deleted or rotated since this process cached it is a 404
  (400 for ``/v2/enqueue``) as soon as the change committed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from paging.alert_event import AlertEvent
from paging.inbound.alertmanager import alertmanager_parse
from paging.inbound.body import BodyInvalid, BodyTooLarge, body_read, json_object_decode
from paging.inbound.fields import InvalidPayload
from paging.inbound.integrations import integration_for_token, integration_forget
from paging.inbound.pagerduty_events import PagerDutyEvent, pagerduty_event_parse
from paging.inbound.webhook import webhook_parse
from paging.ingest import IntegrationGone, alerts_ingest
from paging.models import Integration
from paging.priorities import PriorityInvalid, priority_parse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
DEFAULT_MAX_ALERTS_PER_MESSAGE = 1000


def max_alerts_per_message() -> int:
    """Alerts of one Alertmanager message handled at most (one transaction stays short)."""
    return int(getattr(settings, "INBOUND_MAX_ALERTS_PER_MESSAGE", DEFAULT_MAX_ALERTS_PER_MESSAGE))


class Rejected(Exception):
    """Stop handling the request and answer ``status`` with ``errors``."""

    def __init__(self, status: int, message: str, errors: list[str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def _body_object(request: HttpRequest) -> dict[str, Any]:
    try:
        return json_object_decode(body_read(request))
    except BodyTooLarge as exc:
        raise Rejected(413, "Request body too large", [str(exc)]) from None
    except BodyInvalid as exc:
        raise Rejected(400, "Request body is invalid", [str(exc)]) from None


def _unknown() -> Rejected:
    return Rejected(404, "Unknown integration", ["no integration of this kind has this token"])


def _unavailable() -> Rejected:
    return Rejected(503, "Temporarily unavailable", ["try again later"])


def _lookup(token: Any, kind: str) -> Integration | None:
    try:
        return integration_for_token(token, kind)
    except (OperationalError, InterfaceError):
        logger.warning("inbound token lookup failed: database unavailable", exc_info=True)
        raise _unavailable() from None


def _integration(token: str, kind: str) -> Integration:
    integration = _lookup(token, kind)
    if integration is None:
        raise _unknown()
    return integration


def _ingest(integration: Integration, events: list[AlertEvent]) -> Any:
    try:
        return alerts_ingest(integration=integration, events=events)
    except IntegrationGone:
        # Deleted or rotated in another process since this one cached it.
        integration_forget(integration.token, integration.kind)
        raise _unknown() from None
    except ValidationError as exc:
        raise Rejected(400, "Event object is invalid", list(exc.messages)) from None
    except DataError:
        # A value the database refused (out of range): the sender's data, not our outage.
        logger.warning("inbound event refused by the database", exc_info=True)
        raise Rejected(400, "Event object is invalid", ["a value is out of range"]) from None
    except (OperationalError, InterfaceError):
        logger.warning("inbound event could not be stored: database unavailable", exc_info=True)
        raise _unavailable() from None


def _error(exc: Rejected) -> JsonResponse:
    response = JsonResponse({"error": exc.message, "errors": exc.errors}, status=exc.status)
    if exc.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _method_not_allowed() -> JsonResponse:
    response = JsonResponse(
        {"error": "Method not allowed", "errors": ["only POST is accepted"]}, status=405
    )
    response["Allow"] = "POST"
    return response


@csrf_exempt
def alertmanager_receive(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /integrations/alertmanager/<token>/``: an Alertmanager v4 webhook message."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        integration = _integration(token, Integration.Kind.ALERTMANAGER)
        body = _body_object(request)
        try:
            events = alertmanager_parse(body)
        except InvalidPayload as exc:
            raise Rejected(400, "Invalid Alertmanager message", exc.errors) from None
        limit = max_alerts_per_message()
        truncated = max(0, len(events) - limit)
        if truncated:
            # Refusing would make Alertmanager drop the whole message (4xx): page on the
            # first ``limit`` alerts and say how many were left out.
            logger.warning(
                "Alertmanager message with %d alerts: %d ignored", len(events), truncated
            )
            events = events[:limit]
        incident_ids = _incident_ids(_ingest(integration, events)) if events else []
    except Rejected as exc:
        return _error(exc)
    return JsonResponse(
        {
            "status": "accepted",
            "alerts": len(events),
            "truncated_alerts": truncated,
            "incident_ids": incident_ids,
        },
        status=202,
    )


@csrf_exempt
def webhook_receive(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /integrations/webhook/<token>/``: one generic JSON alert event."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        integration = _integration(token, Integration.Kind.WEBHOOK)
        body = _body_object(request)
        try:
            event = webhook_parse(body)
        except InvalidPayload as exc:
            raise Rejected(400, "Invalid webhook event", exc.errors) from None
        incident_ids = _incident_ids(_ingest(integration, [event]))
    except Rejected as exc:
        return _error(exc)
    return JsonResponse(
        {"status": "accepted", "dedup_key": event.alert_key, "incident_ids": incident_ids},
        status=202,
    )


def _pagerduty_error(status: int, message: str, errors: list[str]) -> JsonResponse:
    label = "invalid event" if status == 400 else "error"
    response = JsonResponse({"status": label, "message": message, "errors": errors}, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@csrf_exempt
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    """``POST /v2/enqueue``: PagerDuty Events API v2, ``routing_key`` = integration token."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        body = _body_object(request)
    except Rejected as exc:
        if exc.status == 400:
            return _pagerduty_error(400, "Event object is invalid", exc.errors)
        return _pagerduty_error(exc.status, exc.message, exc.errors)
    try:
        parsed = pagerduty_event_parse(body)
    except InvalidPayload as exc:
        return _pagerduty_error(400, "Event object is invalid", exc.errors)
    try:
        integration = _lookup(parsed.routing_key, Integration.Kind.PAGERDUTY)
        if integration is None:
            raise _unknown()
        _ingest(integration, [_prioritised(parsed)])
    except Rejected as exc:
        if exc.status == 404:
            # PagerDuty answers a well-formed but unknown key with 400, not 404.
            return _pagerduty_error(400, "Event object is invalid", ["Invalid routing key"])
        message = "Event object is invalid" if exc.status == 400 else exc.message
        return _pagerduty_error(exc.status, message, exc.errors)
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": parsed.event.alert_key},
        status=202,
    )


def _prioritised(parsed: PagerDutyEvent) -> AlertEvent:
    """The event with the priority its custom details name (checked against the levels
    in use: a query, only for events that name one)."""
    if parsed.priority is None:
        return parsed.event
    try:
        priority = priority_parse(parsed.priority)
    except PriorityInvalid as exc:
        errors = [f"'{parsed.PRIORITY_PATH}': {exc}"]
        raise Rejected(400, "Event object is invalid", errors) from None
    except (OperationalError, InterfaceError):
        raise _unavailable() from None
    return replace(parsed.event, priority=priority)


def _incident_ids(result: Any) -> list[int]:
    ids = getattr(result, "incident_ids", None) or []
    return sorted({int(i) for i in ids})
