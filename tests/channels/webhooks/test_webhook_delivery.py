"""Outgoing webhooks against a loopback receiver, through the engine and the outbox:
the signature, the body, retries on 5xx, Retry-After on 429, no resend after a 2xx,
failures on the timeline and /metrics, routing per service and the event filter."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from paging.channels.webhooks.events import webhook_event_emit
from paging.channels.webhooks.models import WebhookDelivery
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_escalate_now, incident_resolve
from paging.models import IncidentEvent, Message
from tests.channels.webhooks.conftest import SECRET, T0, endpoint, fire
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signature_ok(received, secret: str = SECRET) -> bool:
    """The receiver's check, as the README gives it (written out here, not imported)."""
    timestamp = received.headers["X-Oncall-Timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256)
    return hmac.compare_digest(received.headers["X-Oncall-Signature"], "v1=" + mac.hexdigest())


def webhook_messages() -> list[Message]:
    return list(Message.objects.filter(kind="webhook").order_by("pk"))


def test_triggered_is_posted_signed_with_the_documented_body(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["triggered"])
    incident = fire(cast.payments)
    tick()
    [got] = receiver.take()
    assert got.path == "/hooks/oncall"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Oncall-Event"] == "triggered"
    assert got.headers["X-Oncall-Timestamp"] == str(int(T0.timestamp()))
    assert signature_ok(got)
    assert not signature_ok(got, secret="another-secret-of-16+chars")
    body = got.json
    assert got.headers["X-Oncall-Delivery"] == body["id"]
    assert body == {
        "id": body["id"],
        "event": "triggered",
        "occurred_at": "2026-11-20T03:14:07Z",
        "incident": {
            "id": incident.pk,
            "title": "Payment API down",
            "status": "triggered",
            "priority": None,
            "urgency": "high",
            "service": {"id": cast.payments.pk, "name": "Payments"},
            "url": f"https://oncall.example.test/admin/paging/incident/{incident.pk}/change/",
        },
        "actor": None,
        "via": "webhook",
        "data": {"text": "high urgency, critical"},
    }
    tick()
    clock.shift(timedelta(hours=1))
    tick()
    assert receiver.take() == []  # one event, one request
    [message] = webhook_messages()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 1, "HTTP 200")


def test_acknowledged_escalated_resolved_with_their_actor(clock, cast, receiver) -> None:
    endpoint(receiver.url())
    incident = fire(cast.payments)
    tick()
    assert [r.json["event"] for r in receiver.take()] == ["triggered"]

    clock.shift(timedelta(minutes=1))
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk, via="api")
    tick()
    [ack] = receiver.take()
    assert ack.json["event"] == "acknowledged"
    assert ack.json["occurred_at"] == "2026-11-20T03:15:07Z"
    assert ack.json["actor"] == {"id": cast.ada.pk, "name": "Ada Lovelace"}
    assert ack.json["incident"]["status"] == "acknowledged"
    assert ack.json["via"] == "api"

    incident_escalate_now(incident_id=incident.pk, engineer_id=cast.grace.pk)
    tick()
    [escalated] = receiver.take()
    assert escalated.json["event"] == "escalated"
    assert escalated.json["data"]["step"] == 2  # Grace's step
    assert escalated.json["incident"]["status"] == "triggered"

    # The policy's next step after 10 minutes is an escalation too (the first step,
    # right after the trigger, is not).
    incident_resolve(incident_id=incident.pk, engineer_id=cast.grace.pk, via="slack")
    tick()
    [resolved] = receiver.take()
    assert resolved.json["event"] == "resolved"
    assert resolved.json["actor"]["name"] == "Grace Hopper"
    assert all(signature_ok(r) for r in (ack, escalated, resolved))
    ids = {r.json["id"] for r in (ack, escalated, resolved)}
    assert len(ids) == 3


def test_escalation_by_the_engine_is_sent(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["escalated"])
    fire(cast.payments)
    tick()
    assert receiver.take() == []  # the first step is the page, not an escalation
    clock.shift(timedelta(minutes=10))
    tick()
    [escalated] = receiver.take()
    assert escalated.json["data"]["step"] == 2
    assert "Grace Hopper" in escalated.json["data"]["text"]


def test_500_then_200_is_two_requests_with_one_delivery_id(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["triggered"])  # the engine escalates meanwhile
    incident = fire(cast.payments)
    receiver.reply(500)
    tick()
    [first] = receiver.take()
    [message] = webhook_messages()
    assert (message.status, message.attempts) == ("pending", 1)
    line = IncidentEvent.objects.get(incident=incident, kind="notification_failed")
    assert line.text == (
        "triggered to webhook automation: the webhook answered HTTP 500 (will retry)"
    )

    clock.shift(timedelta(seconds=5))
    tick()
    assert receiver.take() == []  # the backoff: 10 s
    clock.shift(timedelta(seconds=6))
    tick()
    [second] = receiver.take()
    assert second.body == first.body
    assert second.headers["X-Oncall-Delivery"] == first.headers["X-Oncall-Delivery"]
    assert second.json["id"] == first.json["id"]
    sent_at = [int(r.headers["X-Oncall-Timestamp"]) for r in (first, second)]
    assert sent_at[1] == sent_at[0] + 11  # signed anew at each try
    assert signature_ok(first) and signature_ok(second)

    # After the 2xx: never again, whatever the engine does later.
    for _ in range(3):
        clock.shift(timedelta(minutes=30))
        tick()
    assert receiver.take() == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


def test_429_waits_for_retry_after(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["triggered"])  # the engine escalates meanwhile
    fire(cast.payments)
    receiver.reply(429, {"Retry-After": "120"})
    tick()
    assert len(receiver.take()) == 1
    clock.shift(timedelta(seconds=60))  # past our own backoff, before the receiver's time
    tick()
    assert receiver.take() == []
    clock.shift(timedelta(seconds=61))
    tick()
    assert len(receiver.take()) == 1
    [message] = webhook_messages()
    assert (message.status, message.attempts, message.rate_limited) == ("sent", 2, 1)


def metric(text: str, name: str) -> str:
    return next(line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name))


def test_permanent_failure_on_the_timeline_and_metrics(clock, cast, receiver, settings) -> None:
    settings.METRICS_TOKEN = ""
    endpoint(receiver.url(), events=["triggered"])  # the engine escalates meanwhile
    incident = fire(cast.payments)
    receiver.reply(500, times=5)
    tick()
    for _ in range(4):
        clock.shift(timedelta(minutes=5))
        tick()
    assert len(receiver.take()) == 5  # MAX_ATTEMPTS, then it stops
    clock.shift(timedelta(hours=1))
    tick()
    assert receiver.take() == []
    [message] = webhook_messages()
    assert (message.status, message.attempts) == ("failed", 5)
    lines = [
        e.text for e in IncidentEvent.objects.filter(incident=incident, kind="notification_failed")
    ]
    assert len(lines) == 5
    assert lines[-1] == (
        "could not deliver triggered to webhook automation: "
        "the webhook answered HTTP 500 (permanent)"
    )
    text = Client().get("/metrics").content.decode()
    name = 'notifications_sent_total{channel="webhook",result="failure"}'
    assert metric(text, name) == "1"

    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    hook = WebhookDelivery.objects.get().endpoint
    answer = staff.get(f"/api/v1/webhooks/{hook.pk}/deliveries/").json()
    [row] = answer["results"]
    assert (row["event"], row["incident"], row["status"], row["attempts"]) == (
        "triggered",
        incident.pk,
        "failed",
        5,
    )
    assert row["last_error"] == "the webhook answered HTTP 500"


def test_a_4xx_is_permanent_at_once(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["triggered"])  # the engine escalates meanwhile
    incident = fire(cast.payments)
    receiver.reply(410)
    tick()
    clock.shift(timedelta(hours=1))
    tick()
    assert len(receiver.take()) == 1
    assert webhook_messages()[0].status == "failed"
    assert IncidentEvent.objects.filter(
        incident=incident, kind="notification_failed", text__endswith="HTTP 410 (permanent)"
    ).exists()


def test_a_refused_connection_is_retried(clock, cast, receiver) -> None:
    from tests.fakes.net import refusing_url

    with refusing_url() as url:
        hook = endpoint(url + "/hook")
        fire(cast.payments)
        tick()
    [message] = webhook_messages()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "ConnectionError" in message.last_error
    # The URL corrected meanwhile: the queued event goes there, with its id.
    from paging.channels.webhooks.services import webhook_endpoint_save

    webhook_endpoint_save(endpoint=hook, fields={"url": receiver.url()})
    clock.shift(timedelta(seconds=11))
    tick()
    [got] = receiver.take()
    assert got.json["id"] == str(WebhookDelivery.objects.get().delivery_id)


def test_a_timeout_is_retried_with_the_same_delivery_id(clock, cast, receiver, settings) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    endpoint(receiver.url(), events=["triggered"])
    incident = fire(cast.payments)
    receiver.reply(200, stall=1.5)  # the receiver got it; its answer comes too late
    tick()
    [message] = webhook_messages()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "ReadTimeout" in message.last_error
    assert IncidentEvent.objects.filter(
        incident=incident, kind="notification_failed", text__endswith="(will retry)"
    ).exists()
    clock.shift(timedelta(seconds=11))
    tick()
    first, second = receiver.take()
    # Sent again (nothing can ask a receiver what it got): the same id to deduplicate on.
    assert first.json["id"] == second.json["id"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


def test_routing_per_service_and_global(clock, cast, receiver) -> None:
    endpoint(receiver.url("/payments"), name="payments", service=cast.payments)
    endpoint(receiver.url("/all"), name="all")
    fire(cast.search, key="search-down", title="Search down")
    tick()
    assert [r.path for r in receiver.take()] == ["/all"]
    fire(cast.payments)
    tick()
    assert sorted(r.path for r in receiver.take()) == ["/all", "/payments"]


def test_event_filter(clock, cast, receiver) -> None:
    endpoint(receiver.url(), events=["resolved"])
    incident = fire(cast.payments)
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    tick()
    assert receiver.take() == []
    incident_resolve(incident_id=incident.pk, engineer_id=cast.ada.pk)
    tick()
    assert [r.json["event"] for r in receiver.take()] == ["resolved"]


def test_disabled_and_new_endpoints_get_no_history(clock, cast, receiver) -> None:
    incident = fire(cast.payments)
    tick()
    clock.shift(timedelta(minutes=1))
    hook = endpoint(receiver.url())
    tick()
    assert receiver.take() == []  # the trigger happened before the webhook existed
    from paging.channels.webhooks.services import webhook_endpoint_save

    webhook_endpoint_save(endpoint=hook, fields={"enabled": False})
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    tick()
    clock.shift(timedelta(minutes=1))
    webhook_endpoint_save(endpoint=hook, fields={"enabled": True})
    tick()
    assert receiver.take() == []  # nor what happened while it was disabled
    incident_resolve(incident_id=incident.pk, engineer_id=cast.ada.pk)
    tick()
    assert [r.json["event"] for r in receiver.take()] == ["resolved"]


def test_status_update_emitted_once_per_key(clock, cast, receiver) -> None:
    endpoint(receiver.url())
    incident = fire(cast.payments)
    tick()
    receiver.take()
    data = {"id": 7, "status": "identified", "text": "A bad deploy; rolling back."}
    with transaction.atomic():
        queued = webhook_event_emit(incident, "status_update", data, actor_id=cast.ada.pk)
    with transaction.atomic():
        again = webhook_event_emit(incident, "status_update", data, actor_id=cast.ada.pk)
    assert (queued, again) == (1, 0)
    tick()
    [got] = receiver.take()
    assert got.json["event"] == "status_update"
    assert got.json["data"] == data
    assert got.json["actor"]["name"] == "Ada Lovelace"
    assert signature_ok(got)
    with pytest.raises(ValueError, match="unknown webhook event"):
        webhook_event_emit(incident, "exploded", {})


def test_reading_unsettled_events_again_writes_nothing_and_costs_the_same(
    clock, cast, receiver
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from paging.channels.webhooks.events import webhooks_forward

    endpoint(receiver.url(), name="one")
    endpoint(receiver.url("/two"), name="two", service=cast.payments)

    def reread_cost(incidents: int) -> int:
        for n in range(incidents):
            fire(cast.payments, key=f"k{incidents}-{n}", title=f"Alert {n}")
        tick()
        with CaptureQueriesContext(connection) as queries:
            assert webhooks_forward() == 0  # still inside the settle window: read again
        return len(queries.captured_queries)

    assert reread_cost(1) == reread_cost(6)
    assert len(receiver.take()) == 2 * 7  # triggered, to both webhooks, once each
