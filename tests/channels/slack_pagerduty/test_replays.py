"""A captured, validly signed inbound request sent again later changes nothing:
PagerDuty webhooks v3 (signed event id, occurred_at window, the incident it names) and
Slack buttons and slash commands (timestamp window, each signature once)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client

from paging.channels.pagerduty.models import PagerDutyWebhookDelivery
from paging.incident_actions import incident_resolve
from paging.models import Incident
from tests.channels.slack_pagerduty.conftest import fire
from tests.channels.slack_pagerduty.test_pagerduty import post_webhook, webhook_body
from tests.channels.slack_pagerduty.test_slack_inbound import command_body, interaction_body, signed

pytestmark = pytest.mark.django_db


def status(incident: Incident) -> str:
    return Incident.objects.get(pk=incident.pk).status


def test_captured_pagerduty_ack_replayed_after_a_new_incident_with_the_same_key(
    clock, cast, pd_secret
) -> None:
    """The audit's finding: the same signed body with a new X-Webhook-Id acknowledged a
    later incident sharing the dedup key. Now it stays triggered, however replayed."""
    first = fire(cast.service)
    captured = webhook_body(incident_key="payments/api-down")
    assert post_webhook(captured, webhook_id="wh-1").json() == {
        "status": "acknowledged",
        "incident": first.pk,
    }
    incident_resolve(incident_id=first.pk, via="api")
    clock.shift(timedelta(minutes=2))
    second = fire(cast.service)
    assert second.pk != first.pk and second.dedup_key == first.dedup_key

    # Within the window, with a new delivery id: the signed event id was seen.
    response = post_webhook(captured, webhook_id="wh-replay-1")
    assert (response.status_code, response.json()["status"]) == (200, "duplicate delivery")
    # Later, outside the window: refused outright.
    clock.shift(timedelta(minutes=4))
    response = post_webhook(captured, webhook_id="wh-replay-2")
    assert (response.status_code, response.json()["field"]) == (400, "event.occurred_at")
    assert status(second) == "triggered"
    assert PagerDutyWebhookDelivery.objects.count() == 1


def test_a_new_event_about_the_old_pagerduty_incident_does_not_touch_the_new_one(
    clock, cast, pd_secret
) -> None:
    first = fire(cast.service)
    post_webhook(webhook_body(incident_key="payments/api-down"), webhook_id="wh-1")
    incident_resolve(incident_id=first.pk, via="api")
    clock.shift(timedelta(minutes=1))
    second = fire(cast.service)
    # PagerDuty's incident Q1ABCDEF was ours #first: its later events stay with it.
    body = webhook_body("incident.resolved", incident_key="payments/api-down")
    response = post_webhook(body, webhook_id="wh-2")
    assert response.json() == {"status": "resolve: no change", "incident": first.pk}
    assert status(second) == "triggered"


def test_an_event_that_occurred_before_our_incident_opened_is_not_about_it(
    clock, cast, pd_secret
) -> None:
    captured = webhook_body(incident_key="payments/api-down", pagerduty_incident="QOTHER")
    clock.shift(timedelta(minutes=2))
    incident = fire(cast.service)
    response = post_webhook(captured, webhook_id="wh-late")
    assert response.json()["status"] == "ignored: no incident for this key"
    assert status(incident) == "triggered"


def test_pagerduty_event_from_the_future_is_refused(clock, cast, pd_secret) -> None:
    incident = fire(cast.service)
    clock.shift(timedelta(minutes=5))
    body = webhook_body(incident_key="payments/api-down")
    clock.shift(timedelta(minutes=-5))
    response = post_webhook(body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "in the future", "field": "event.occurred_at"},
    )
    assert status(incident) == "triggered"


def test_captured_slack_button_replayed_later_changes_nothing(
    clock, cast, fake_slack, slack_secret
) -> None:
    first = fire(cast.service)
    fake_slack.calls.clear()
    body = interaction_body(first.pk, action="incident_escalate")
    ts = str(int(time.time()))
    client = Client()
    assert signed(client, "/slack/interactions/", body, timestamp=ts).status_code == 200
    escalations = first.events.filter(kind="escalated").count()
    # At once (inside the window) and 6 minutes later (outside): refused, nothing changes.
    assert signed(client, "/slack/interactions/", body, timestamp=ts).status_code == 403
    clock.shift(timedelta(minutes=6))
    assert signed(client, "/slack/interactions/", body, timestamp=ts).status_code == 403
    assert first.events.filter(kind="escalated").count() == escalations


def test_captured_slack_command_replayed_later_changes_nothing(
    clock, cast, fake_slack, slack_secret
) -> None:
    incident = fire(cast.service)
    body = command_body(f"ack {incident.pk}")
    ts = str(int(time.time()))
    client = Client()
    first = signed(client, "/slack/commands/", body, timestamp=ts)
    assert first.status_code == 200
    incident_resolve(incident_id=incident.pk, via="api")
    again = fire(cast.service)
    for shift in (0, 10):
        clock.shift(timedelta(minutes=shift))
        assert signed(client, "/slack/commands/", body, timestamp=ts).status_code == 403
    assert status(again) == "triggered"
