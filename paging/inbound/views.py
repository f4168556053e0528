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
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from paging.alert_event import AlertEvent
from paging.change_events import change_event_record
from paging.inbound.alertmanager import alertmanager_parse
from paging.inbound.body import BodyInvalid, BodyTooLarge, body_read, json_object_decode
from paging.inbound.change_events import change_event_parse
from paging.inbound.fields import InvalidPayload
from paging.inbound.grafana import grafana_parse
from paging.inbound.integrations import integration_for_token, integration_forget
from paging.inbound.pagerduty_events import PagerDutyEvent, pagerduty_event_parse
from paging.inbound.rate_limit import inbound_rate_take
from paging.inbound.sns import SnsMessage, cloudwatch_event, sns_parse
from paging.inbound.sns_verify import (
    SnsRefused,
    SnsUnavailable,
    sns_signature_verify,
    sns_subscription_confirm_fetch,
)
from paging.inbound.webhook import webhook_parse
from paging.ingest import IntegrationGone, alerts_ingest
from paging.models import Integration, SnsSubscription
from paging.priorities import PriorityInvalid, priority_parse
from paging.sns_subscriptions import (
    sns_message_claim,
    sns_subscription_set,
    sns_topic_unsubscribed,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
SNS_CLOCK_SKEW_SECONDS = 300


def max_alerts_per_message() -> int:
    """Alerts of one Alertmanager message handled at most (one transaction stays short)."""
    return settings.INBOUND_MAX_ALERTS_PER_MESSAGE


class Rejected(Exception):
    """Stop handling the request and answer ``status`` with ``errors``."""

    def __init__(
        self, status: int, message: str, errors: list[str], *, retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.retry_after = retry_after or (RETRY_AFTER_SECONDS if status == 503 else 0)


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


def _admit(integration: Integration) -> int | None:
    """Take a slot of the integration's rate limit, or refuse the request (429).

    Returns the integration's ``rules_version`` when the same statement confirmed its
    token (for ``alerts_ingest``), None when no statement ran (no limit)."""
    try:
        decision = inbound_rate_take(integration=integration)
    except IntegrityError:
        # Its first bucket row names an integration deleted since this process cached it.
        integration_forget(integration.token, integration.kind)
        raise _unknown() from None
    except (OperationalError, InterfaceError):
        logger.warning("inbound rate limit: database unavailable", exc_info=True)
        raise _unavailable() from None
    if decision.token_current is False:
        # Deleted or rotated in another process since this one cached it.
        integration_forget(integration.token, integration.kind)
        raise _unknown()
    if not decision.allowed:
        limit = integration.rate_limit_per_minute
        raise Rejected(
            429,
            "Rate limit exceeded",
            [
                f"this integration accepts {limit} events per minute;"
                f" retry after {decision.retry_after} s"
            ],
            retry_after=decision.retry_after,
        )
    return decision.rules_version


def _ingest(
    integration: Integration, events: list[AlertEvent], rules_version: int | None = None
) -> Any:
    try:
        return alerts_ingest(integration=integration, events=events, rules_version=rules_version)
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
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _method_not_allowed() -> JsonResponse:
    response = JsonResponse(
        {"error": "Method not allowed", "errors": ["only POST is accepted"]}, status=405
    )
    response["Allow"] = "POST"
    return response


def _alerts_receive(
    request: HttpRequest,
    token: str,
    kind: str,
    parse: Callable[[dict[str, Any]], list[AlertEvent]],
    what: str,
) -> JsonResponse:
    """A message of many alerts (Alertmanager, Grafana): parse, admit, ingest, answer."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        integration = _integration(token, kind)
        body = _body_object(request)
        try:
            events = parse(body)
        except InvalidPayload as exc:
            raise Rejected(400, f"Invalid {what} message", exc.errors) from None
        limit = max_alerts_per_message()
        truncated = max(0, len(events) - limit)
        if truncated:
            # Refusing would make the sender drop the whole message (4xx): page on the
            # first ``limit`` alerts and say how many were left out.
            logger.warning("%s message with %d alerts: %d ignored", what, len(events), truncated)
            events = events[:limit]
        version = _admit(integration)
        incident_ids = _incident_ids(_ingest(integration, events, version)) if events else []
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
def alertmanager_receive(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /integrations/alertmanager/<token>/``: an Alertmanager v4 webhook message."""
    kind = Integration.Kind.ALERTMANAGER
    return _alerts_receive(request, token, kind, alertmanager_parse, "Alertmanager")


@csrf_exempt
def grafana_receive(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /integrations/grafana/<token>/``: a Grafana Alerting webhook message."""
    return _alerts_receive(request, token, Integration.Kind.GRAFANA, grafana_parse, "Grafana")


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
        version = _admit(integration)
        incident_ids = _incident_ids(_ingest(integration, [event], version))
    except Rejected as exc:
        return _error(exc)
    return JsonResponse(
        {"status": "accepted", "dedup_key": event.alert_key, "incident_ids": incident_ids},
        status=202,
    )


def _pagerduty_error(
    status: int, message: str, errors: list[str], *, retry_after: int = 0
) -> JsonResponse:
    label = {400: "invalid event", 429: "throttle event"}.get(status, "error")
    response = JsonResponse({"status": label, "message": message, "errors": errors}, status=status)
    if status == 503:
        retry_after = retry_after or RETRY_AFTER_SECONDS
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _pagerduty_rejected(exc: Rejected) -> JsonResponse:
    """PagerDuty's answers: an unknown routing key is a 400, as PagerDuty answers it."""
    if exc.status == 404:
        return _pagerduty_error(400, "Event object is invalid", ["Invalid routing key"])
    if exc.status == 429:
        return _pagerduty_error(
            429,
            "Requests for this service are arriving too quickly. Please retry later.",
            exc.errors,
            retry_after=exc.retry_after,
        )
    message = "Event object is invalid" if exc.status == 400 else exc.message
    return _pagerduty_error(exc.status, message, exc.errors)


def _pagerduty_parsed(
    request: HttpRequest, parse: Callable[[dict[str, Any]], T]
) -> T | JsonResponse:
    """The parsed body of a PagerDuty-style POST, or the answer refusing it."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        body = _body_object(request)
    except Rejected as exc:
        if exc.status == 400:
            return _pagerduty_error(400, "Event object is invalid", exc.errors)
        return _pagerduty_error(exc.status, exc.message, exc.errors)
    try:
        return parse(body)
    except InvalidPayload as exc:
        return _pagerduty_error(400, "Event object is invalid", exc.errors)


@csrf_exempt
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    """``POST /v2/enqueue``: PagerDuty Events API v2, ``routing_key`` = integration token."""
    parsed = _pagerduty_parsed(request, pagerduty_event_parse)
    if isinstance(parsed, JsonResponse):
        return parsed
    try:
        event = _prioritised(parsed)
        integration = _integration(parsed.routing_key, Integration.Kind.PAGERDUTY)
        version = _admit(integration)
        _ingest(integration, [event], version)
    except Rejected as exc:
        return _pagerduty_rejected(exc)
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


@csrf_exempt
def pagerduty_change_enqueue(request: HttpRequest) -> JsonResponse:
    """``POST /v2/change/enqueue``: PagerDuty Change Events, recorded on the service."""
    spec = _pagerduty_parsed(request, change_event_parse)
    if isinstance(spec, JsonResponse):
        return spec
    try:
        integration = _integration(spec.routing_key, Integration.Kind.PAGERDUTY)
        _admit(integration)
        try:
            change_event_record(integration=integration, spec=spec)
        except (OperationalError, InterfaceError):
            logger.warning("change event could not be stored: database unavailable", exc_info=True)
            raise _unavailable() from None
        except DataError:
            raise Rejected(400, "Event object is invalid", ["a value is out of range"]) from None
    except Rejected as exc:
        return _pagerduty_rejected(exc)
    return JsonResponse({"status": "success", "message": "Change event processed"}, status=202)


@csrf_exempt
def sns_receive(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /integrations/sns/<token>/``: Amazon SNS (CloudWatch alarms).

    Order: integration, body, envelope (400 naming the field), rate limit, topic
    accepted (403), signature (403; 503 when the certificate cannot be fetched),
    age (400), then the message type's action.
    """
    if request.method != "POST":
        return _method_not_allowed()
    try:
        integration = _integration(token, Integration.Kind.SNS)
        body = _body_object(request)
        header = request.headers.get("x-amz-sns-message-type", "")
        try:
            message = sns_parse(body, header)
        except InvalidPayload as exc:
            raise Rejected(400, "Invalid SNS message", exc.errors) from None
        _admit(integration)
        _sns_check(integration, message)
        return _sns_act(integration, message)
    except Rejected as exc:
        return _error(exc)


def _sns_check(integration: Integration, message: SnsMessage) -> None:
    """Refuse what is not a genuine, current message of a topic the integration takes."""
    topic = message.topic_arn
    if topic not in (integration.sns_topic_arns or []):
        raise Rejected(
            403,
            "Topic not accepted",
            [f"'TopicArn' {topic[:300]!r} is not one of this integration's SNS topics"],
        )
    try:
        sns_signature_verify(message)
    except SnsRefused as exc:
        raise Rejected(403, "Not a genuine SNS message", [str(exc)]) from None
    except SnsUnavailable as exc:
        logger.warning("SNS signature not checked: %s", exc)
        raise Rejected(503, "Temporarily unavailable", [str(exc)]) from None
    age = (timezone.now() - message.timestamp).total_seconds()
    max_age = settings.SNS_MAX_MESSAGE_AGE_SECONDS
    if age > max_age or age < -SNS_CLOCK_SKEW_SECONDS:
        raise Rejected(
            400,
            "Invalid SNS message",
            [f"'Timestamp' is {int(age)} s from now: not a current delivery (a replay?)"],
        )


def _sns_act(integration: Integration, message: SnsMessage) -> JsonResponse:
    topic = message.topic_arn
    if message.type == "SubscriptionConfirmation":
        try:
            sns_subscription_confirm_fetch(message)
        except SnsRefused as exc:
            raise Rejected(403, "Subscription not confirmed", [str(exc)]) from None
        except SnsUnavailable as exc:
            logger.warning("SNS subscription not confirmed: %s", exc)
            raise Rejected(503, "Temporarily unavailable", [str(exc)]) from None
        _sns_subscription(integration, topic, SnsSubscription.Status.CONFIRMED)
        return JsonResponse({"status": "confirmed", "topic_arn": topic})
    if message.type == "UnsubscribeConfirmation":
        # Not visiting SubscribeURL: that would subscribe again.
        _sns_subscription(integration, topic, SnsSubscription.Status.UNSUBSCRIBED)
        return JsonResponse({"status": "unsubscribed", "topic_arn": topic})
    if sns_topic_unsubscribed(integration=integration, topic_arn=topic):
        raise Rejected(
            403,
            "Topic not accepted",
            [f"'TopicArn' {topic[:300]!r} unsubscribed from this integration"],
        )
    try:
        event = cloudwatch_event(message)
    except InvalidPayload as exc:
        raise Rejected(400, "Invalid CloudWatch alarm", exc.errors) from None
    if event is None:
        return JsonResponse(
            {"status": "ignored", "reason": "INSUFFICIENT_DATA changes nothing"}, status=202
        )
    # The message id is kept with the alert it carried (one transaction): a replay of
    # the same signed message within its Timestamp window changes nothing.
    with transaction.atomic():
        try:
            first = sns_message_claim(integration=integration, message_id=message.message_id)
        except (OperationalError, InterfaceError):
            logger.warning("SNS message not stored: database unavailable", exc_info=True)
            raise _unavailable() from None
        if not first:
            return JsonResponse(
                {"status": "duplicate", "message_id": message.message_id[:255]}, status=200
            )
        result = _ingest(integration, [event])
    return JsonResponse(
        {
            "status": "accepted",
            "dedup_key": event.alert_key,
            "outcome": result.outcomes[0],
            "incident_ids": _incident_ids(result),
        },
        status=202,
    )


def _sns_subscription(integration: Integration, topic: str, status: str) -> None:
    try:
        sns_subscription_set(integration=integration, topic_arn=topic, status=status)
    except (OperationalError, InterfaceError):
        logger.warning("SNS subscription not recorded: database unavailable", exc_info=True)
        raise _unavailable() from None


def _incident_ids(result: Any) -> list[int]:
    ids = getattr(result, "incident_ids", None) or []
    return sorted({int(i) for i in ids})
