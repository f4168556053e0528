"""PagerDuty: Events v2 forwarding against the fake, webhooks v3 in (signature, dedup)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from paging.channels.escalation_targets import channel_targets_post
from paging.channels.pagerduty.models import PagerDutyForward, PagerDutyWebhookDelivery
from paging.channels.pagerduty.triggers import pagerduty_forward_trigger
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import Incident, Message
from tests.channels.slack_pagerduty.conftest import PD_WEBHOOK_SECRET, fire
from tests.paging.factories import EscalationStepFactory, EscalationTargetFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "samples"
ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"


def forward(incident: Incident, step: int = 0, loop: int = 0) -> Message:
    with transaction.atomic():
        return pagerduty_forward_trigger(
            incident_id=incident.pk, address=ROUTING_KEY, step=step, loop=loop
        )


def test_trigger_then_ack_then_resolve_are_forwarded(clock, cast, fake_pagerduty) -> None:
    incident = fire(cast.service)
    forward(incident)
    forward(incident)  # the same step again: one row
    tick()
    [trigger] = fake_pagerduty.take()
    assert trigger == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": f"oncall-{incident.pk}",
        "payload": {
            "summary": "Payment API down",
            "source": "Payments",
            "severity": "critical",
            "timestamp": "2026-11-20T03:14:07+00:00",
            "component": "Payments",
            "custom_details": {
                "incident_id": incident.pk,
                "dedup_key": "payments/api-down",
                "urgency": "high",
            },
        },
        "links": [
            {
                "href": f"https://oncall.example.test/admin/paging/incident/{incident.pk}/change/",
                "text": f"On-call incident #{incident.pk}",
            }
        ],
        "client": "oncall",
        "client_url": f"https://oncall.example.test/admin/paging/incident/{incident.pk}/change/",
    }
    row = PagerDutyForward.objects.get()
    assert (row.incident_id, row.dedup_key, row.last_action) == (
        incident.pk,
        f"oncall-{incident.pk}",
        "trigger",
    )
    assert Message.objects.get(kind="pagerduty").provider_id == f"oncall-{incident.pk}"

    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    tick()
    tick()  # read again while the cursor settles: not sent twice
    assert fake_pagerduty.take() == [
        {
            "event_action": "acknowledge",
            "dedup_key": f"oncall-{incident.pk}",
            "routing_key": ROUTING_KEY,
        }
    ]
    clock.shift(timedelta(minutes=2))
    incident_resolve(incident_id=incident.pk)
    tick()
    assert fake_pagerduty.take() == [
        {
            "event_action": "resolve",
            "dedup_key": f"oncall-{incident.pk}",
            "routing_key": ROUTING_KEY,
        }
    ]
    assert PagerDutyForward.objects.get().last_action == "resolve"


def test_escalation_target_queues_the_trigger(clock, cast, fake_pagerduty) -> None:
    incident = fire(cast.service)
    target = EscalationTargetFactory(
        step=EscalationStepFactory(position=7),
        kind="pagerduty_service",
        address=ROUTING_KEY,
    )
    with transaction.atomic():
        notes = channel_targets_post(incident_id=incident.pk, targets=[target], step=1, loop=0)
    assert notes == ["PagerDuty service …0001"]
    row = Message.objects.get(kind="pagerduty")
    assert (row.incident_id, row.escalation_step, row.destination) == (incident.pk, 1, ROUTING_KEY)
    tick()
    assert [e["event_action"] for e in fake_pagerduty.take()] == ["trigger"]


def test_ack_before_the_trigger_leaves_cancels_it_and_forwards_nothing(
    clock, cast, fake_pagerduty
) -> None:
    incident = fire(cast.service)
    forward(incident)
    incident_acknowledge(incident_id=incident.pk)
    tick()
    assert Message.objects.get(kind="pagerduty").status == "cancelled"
    assert not PagerDutyForward.objects.exists()
    # (the fixture fails the test if anything reached the fake)


def test_errors_400_permanent_5xx_and_429_retried(clock, cast, fake_pagerduty) -> None:
    incident = fire(cast.service)
    fake_pagerduty.reply(status=500, body={"status": "error"})
    fake_pagerduty.reply(status=429, body={"status": "throttled"}, headers={"Retry-After": "5"})
    forward(incident)
    tick()
    row = Message.objects.get(kind="pagerduty")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("pagerduty: HTTP 500")
    clock.shift(timedelta(seconds=11))
    tick()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 2)
    assert "rate limited" in row.last_error
    clock.shift(timedelta(seconds=21))
    tick()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 3)
    assert len(fake_pagerduty.take()) == 3

    other = fire(cast.service, key="other", title="Other")
    fake_pagerduty.reply(
        status=400,
        body={"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]},
    )
    forward(other)
    tick()
    row = Message.objects.get(kind="pagerduty", incident=other)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "pagerduty: HTTP 400 Event object is invalid: bad"
    assert len(fake_pagerduty.take()) == 1


# --- webhooks ----------------------------------------------------------------------


def webhook_body(
    event_type: str = "incident.acknowledged",
    incident_key: str = "",
    *,
    event_id: str | None = None,
    pagerduty_incident: str = "Q1ABCDEF",
) -> bytes:
    """The contract's sample as PagerDuty would send it now: a new event id, occurred now."""
    doc = json.loads((SAMPLES / "pagerduty_webhook_v3_acknowledged.json").read_text())
    doc["event"]["id"] = event_id or uuid.uuid4().hex
    doc["event"]["occurred_at"] = timezone.now().isoformat().replace("+00:00", "Z")
    doc["event"]["event_type"] = event_type
    doc["event"]["data"]["incident_key"] = incident_key
    doc["event"]["data"]["id"] = pagerduty_incident
    return json.dumps(doc).encode()


def sign(body: bytes, secret: str = PD_WEBHOOK_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(body: bytes, *, signature: str | None = None, webhook_id: str = "wh-1"):
    headers = {"HTTP_X_WEBHOOK_ID": webhook_id} if webhook_id else {}
    if signature is None:
        signature = sign(body)
    if signature:
        headers["HTTP_X_PAGERDUTY_SIGNATURE"] = signature
    return Client().post(
        "/pagerduty/webhooks/", data=body, content_type="application/json", **headers
    )


@pytest.fixture
def forwarded(clock, cast, fake_pagerduty, pd_secret) -> Incident:
    incident = fire(cast.service)
    forward(incident)
    tick()
    assert len(fake_pagerduty.take()) == 1
    return incident


def test_webhook_ack_and_resolve_apply_once_and_are_not_echoed(
    clock, cast, fake_pagerduty, forwarded
) -> None:
    body = webhook_body(incident_key=f"oncall-{forwarded.pk}")
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json() == {"status": "acknowledged", "incident": forwarded.pk}
    incident = Incident.objects.get(pk=forwarded.pk)
    assert (incident.status, incident.acknowledged_via, incident.acknowledged_by) == (
        "acknowledged",
        "pagerduty",
        None,
    )
    # The same delivery again (PagerDuty retries): nothing changes.
    again = post_webhook(body)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate delivery")
    assert PagerDutyWebhookDelivery.objects.count() == 1
    # The same signed body with a new X-Webhook-Id (not signed): the event id says duplicate.
    again = post_webhook(body, webhook_id="wh-replayed")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate delivery")
    # A new event of the same change: idempotent, reported.
    body = webhook_body(incident_key=f"oncall-{forwarded.pk}")
    response = post_webhook(body, webhook_id="wh-2")
    assert response.json()["status"] == "acknowledge: no change"

    body = webhook_body("incident.resolved", incident_key=f"oncall-{forwarded.pk}")
    assert post_webhook(body, webhook_id="wh-3").json()["status"] == "resolved"
    assert Incident.objects.get(pk=forwarded.pk).resolved_via == "pagerduty"
    tick()
    # (the fixture asserts nothing was sent back to PagerDuty)
    clock.shift(timedelta(minutes=20))
    tick()
    assert not Message.objects.filter(engineer=cast.grace).exists()


def test_webhook_matches_our_own_dedup_key_too(clock, cast, pd_secret) -> None:
    incident = fire(cast.service)
    response = post_webhook(webhook_body(incident_key="payments/api-down"))
    assert response.json() == {"status": "acknowledged", "incident": incident.pk}


def test_webhook_with_rotated_secrets_any_v1_matches(clock, cast, pd_secret) -> None:
    incident = fire(cast.service)
    body = webhook_body(incident_key="payments/api-down")
    header = f"v1={'0' * 64}, {sign(body)}, v1=zz"
    assert post_webhook(body, signature=header).status_code == 200
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v1=",
        "v1=" + "0" * 64,
        "v0=" + "0" * 64,
        "garbage",
        "v1=ünïcødé",
        "wrong-secret",
        "v1=" + "a" * 10000,
    ],
)
def test_webhook_bad_signature_is_refused(clock, cast, pd_secret, signature) -> None:
    incident = fire(cast.service)
    body = webhook_body(incident_key="payments/api-down")
    if signature == "wrong-secret":
        signature = sign(body, "another-secret")
    response = post_webhook(body, signature=signature)
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "triggered"
    assert not PagerDutyWebhookDelivery.objects.exists()


def test_webhook_refused_when_no_secret_is_configured(clock, cast, settings) -> None:
    settings.PAGERDUTY_WEBHOOK_SECRET = ""
    fire(cast.service)
    body = webhook_body(incident_key="payments/api-down")
    assert post_webhook(body, signature=sign(body, "")).status_code == 403


def test_webhook_unknown_types_and_keys_are_ignored(clock, cast, pd_secret) -> None:
    incident = fire(cast.service)
    for n, (event_type, key) in enumerate(
        [
            ("incident.triggered", "payments/api-down"),
            ("pagey.ping", ""),
            ("incident.acknowledged", "no-such-key"),
            ("incident.acknowledged", ""),
        ]
    ):
        response = post_webhook(webhook_body(event_type, key), webhook_id=f"wh-{n}")
        assert response.status_code == 200
        assert response.json()["status"].startswith("ignored")
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


ACK_E1 = b'{"event": {"event_type": "incident.acknowledged", "id": "E1", ' + (
    b'"occurred_at": "2026-11-20T03:14:07Z", '
)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b"\xff\xfe", "body"),
        (b'{"event": "x"}', "event"),
        (b'{"event": {}}', "event.event_type"),
        (b'{"event": {"event_type": 5}}', "event.event_type"),
        (b'{"event": {"event_type": "incident.acknowledged"}}', "event.id"),
        (b'{"event": {"event_type": "incident.acknowledged", "id": "a b"}}', "event.id"),
        (b'{"event": {"event_type": "incident.acknowledged", "id": "E1"}}', "event.occurred_at"),
        (
            b'{"event": {"event_type": "x", "id": "E1", "occurred_at": "2026-11-20T03:14:07"}}',
            "event.occurred_at",
        ),
        (
            b'{"event": {"event_type": "x", "id": "E1", "occurred_at": "2026-11-20T03:08:00Z"}}',
            "event.occurred_at",
        ),
        (
            b'{"event": {"event_type": "x", "id": "E1", "occurred_at": "2026-11-20T03:16:00Z"}}',
            "event.occurred_at",
        ),
        (
            ACK_E1 + b'"data": []}}',
            "event.data",
        ),
        (
            ACK_E1 + b'"data": {"id": 5}}}',
            "event.data.id",
        ),
        (
            ACK_E1 + b'"data": {"incident_key": 7}}}',
            "event.data.incident_key",
        ),
        (b'{"event": {"event_type": "a\\u0000b"}}', "body"),
        (b"[" * 5000 + b"]" * 5000, "body"),
    ],
)
def test_webhook_malformed_bodies_are_400(clock, cast, pd_secret, body, field) -> None:
    response = post_webhook(body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_webhook_missing_id_is_400_and_huge_body_413(clock, cast, pd_secret, settings) -> None:
    body = webhook_body(incident_key="payments/api-down")
    response = post_webhook(body, webhook_id="")
    assert (response.status_code, response.json()["field"]) == (400, "X-Webhook-Id")
    settings.INBOUND_MAX_BODY_BYTES = 100
    assert post_webhook(body).status_code == 413
    assert Client().get("/pagerduty/webhooks/").status_code == 405


def test_pagerduty_ack_updates_the_slack_dm_in_place(
    clock, cast, fake_pagerduty, fake_slack, pd_secret
) -> None:
    incident = fire(cast.service)
    forward(incident)
    tick()
    assert len(fake_pagerduty.take()) == 1
    fake_slack.take("conversations.open")
    assert len(fake_slack.take("chat.postMessage")) == 1
    clock.shift(timedelta(minutes=3))
    response = post_webhook(webhook_body(incident_key=f"oncall-{incident.pk}"))
    assert response.json()["status"] == "acknowledged"
    tick()
    [update] = fake_slack.take("chat.update")
    assert ":eyes: *Acknowledged* via pagerduty at 03:17 UTC" in json.dumps(update.params["blocks"])


def test_admin_lists_forwards_and_deliveries(clock, cast, fake_pagerduty, forwarded) -> None:
    from django.contrib.auth import get_user_model

    post_webhook(webhook_body(incident_key=f"oncall-{forwarded.pk}"))
    admin_user = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(admin_user)
    for path in [
        "/admin/bridges/pagerdutyforward/",
        "/admin/bridges/pagerdutywebhookdelivery/",
        "/admin/bridges/slackpost/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert ROUTING_KEY not in response.content.decode()
    row = PagerDutyForward.objects.get()
    page = client.get(f"/admin/bridges/pagerdutyforward/{row.pk}/change/").content.decode()
    assert f"oncall-{forwarded.pk}" in page and ROUTING_KEY not in page


def test_429_waits_retry_after_and_is_not_counted(clock, cast, fake_pagerduty) -> None:
    incident = fire(cast.service)
    fake_pagerduty.reply(status=429, body={"status": "throttled"}, headers={"Retry-After": "120"})
    forward(incident)
    tick()
    row = Message.objects.get(kind="pagerduty")
    assert (row.status, row.attempts, row.rate_limited) == ("pending", 1, 1)
    assert row.due_at == timezone.now() + timedelta(seconds=120)
    clock.shift(timedelta(seconds=60))  # the outbox's own backoff alone would have retried
    tick()
    assert len(fake_pagerduty.take()) == 1
    clock.shift(timedelta(seconds=60))
    tick()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(fake_pagerduty.take()) == 1
