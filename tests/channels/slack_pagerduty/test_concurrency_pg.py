"""Races on PostgreSQL: duplicate webhook deliveries, an ack during a Slack send,
several engines reading the timeline at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from paging.channels.incident_changes import incident_changes_forward
from paging.channels.pagerduty.models import PagerDutyWebhookDelivery
from paging.channels.slack.models import SlackPost
from paging.engine import tick
from paging.incident_actions import incident_acknowledge
from paging.models import Incident, Message
from tests.channels.slack_pagerduty.conftest import PD_WEBHOOK_SECRET, fire

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_concurrent_duplicate_webhook_deliveries_apply_once(cast, pd_secret) -> None:
    incident = fire(cast.service)
    body = json.dumps(
        {
            "event": {
                "id": "E1",
                "event_type": "incident.acknowledged",
                "occurred_at": timezone.now().isoformat(),
                "data": {"incident_key": incident.dedup_key},
            }
        }
    ).encode()
    signature = "v1=" + hmac.new(PD_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    barrier = threading.Barrier(THREADS)

    def deliver(_: int) -> tuple[int, str]:
        try:
            barrier.wait()
            response = Client().post(
                "/pagerduty/webhooks/",
                data=body,
                content_type="application/json",
                HTTP_X_PAGERDUTY_SIGNATURE=signature,
                HTTP_X_WEBHOOK_ID="same-delivery",
            )
            return response.status_code, response.json()["status"]
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        results = Counter(pool.map(deliver, range(THREADS)))
    assert results == {(200, "acknowledged"): 1, (200, "duplicate delivery"): THREADS - 1}
    assert PagerDutyWebhookDelivery.objects.count() == 1
    assert Incident.objects.get(pk=incident.pk).acknowledged_via == "pagerduty"


def test_ack_during_a_slack_send_waits_and_the_post_is_updated(cast, fake_slack) -> None:
    incident = fire(cast.service)
    fake_slack.reply("chat.postMessage", delay=1.0)  # Slack is slow to answer the page

    def engine() -> None:
        try:
            tick()
        finally:
            connection.close()

    sender = threading.Thread(target=engine)
    sender.start()
    assert fake_slack.arrived["chat.postMessage"].wait(10)
    # The page is in flight (the incident row is held): this ack waits for it.
    result = incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk, via="api")
    sender.join(10)
    assert result.changed
    post = SlackPost.objects.get(incident=incident)
    assert Message.objects.get(kind="slack").status == "sent"
    tick()
    [update] = fake_slack.take("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (post.channel, post.ts)
    assert "Acknowledged* by Ada Lovelace via api" in json.dumps(update.params["blocks"])
    fake_slack.take()


def test_engines_reading_the_timeline_at_once_write_each_update_once(cast, fake_slack) -> None:
    incidents = [fire(cast.service, key=f"k{n}", title=f"Incident {n}") for n in range(5)]
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 5
    fake_slack.take()
    for incident in incidents:
        incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    barrier = threading.Barrier(4)

    def step(_: int) -> int:
        try:
            barrier.wait()
            return incident_changes_forward()
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        read = list(pool.map(step, range(4)))
    assert sum(read) == 5  # one worker wrote them; the others found them written
    updates = Message.objects.filter(kind="slack_update")
    assert updates.count() == 5
    assert len({m.destination for m in updates}) == 5
