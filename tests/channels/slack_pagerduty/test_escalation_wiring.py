"""A full loop through the escalation engine with Slack-channel and PagerDuty targets.

paging/escalation.py calls ``paging.channels.escalation_targets.channel_targets_post`` for these
targets; the skip only guards a checkout where that call is missing.
"""

from __future__ import annotations

import inspect
import json
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from slack_sdk.signature import SignatureVerifier

import paging.escalation
from paging.channels.escalation_targets import channel_targets_post
from paging.channels.slack.models import SlackPost
from paging.engine import tick
from paging.models import EscalationTarget, Incident, IncidentEvent, Message
from tests.channels.slack_pagerduty.conftest import ADA_SLACK, SIGNING_SECRET, fire
from tests.paging.factories import (
    EscalationPolicyFactory,
    EscalationStepFactory,
    EscalationTargetFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "channel_targets_post" not in inspect.getsource(paging.escalation),
        reason="paging/escalation.py does not call paging.channels.escalation_targets yet",
    ),
]

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"


def test_channel_and_pagerduty_step_then_ack_from_the_channel(
    clock, cast, fake_slack, fake_pagerduty
) -> None:
    policy = EscalationPolicyFactory()
    first = EscalationStepFactory(policy=policy, position=0, delay_minutes=10)
    EscalationTargetFactory(step=first, kind="slack_channel", address="C0OPS")
    EscalationTargetFactory(step=first, kind="pagerduty_service", address=ROUTING_KEY)
    second = EscalationStepFactory(policy=policy, position=1, delay_minutes=10)
    EscalationTargetFactory(step=second, kind="engineer", engineer=cast.grace)
    cast.service.escalation_policy = policy
    cast.service.save()
    incident = fire(cast.service)

    tick()
    [post] = fake_slack.take("chat.postMessage")
    assert post.params["channel"] == "C0OPS"
    assert [e["event_action"] for e in fake_pagerduty.take()] == ["trigger"]
    step_line = IncidentEvent.objects.get(incident=incident, kind="escalation_step")
    assert step_line.text == "step 1: paging Slack channel C0OPS, PagerDuty service …0001"
    assert Incident.objects.get(pk=incident.pk).next_due_at is not None

    payload = json.loads((Path(__file__).parent / "samples/slack_block_actions.json").read_text())
    payload["user"]["id"] = ADA_SLACK
    payload["channel"]["id"] = "C0OPS"
    payload["actions"][0]["value"] = str(incident.pk)
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()))
    response = Client().post(
        "/slack/interactions/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=ts, body=body
        ),
    )
    assert response.status_code == 200
    tick()
    [update] = fake_slack.take("chat.update")
    assert update.params["channel"] == "C0OPS"
    assert update.params["ts"] == SlackPost.objects.get().ts
    assert "Acknowledged* by Ada Lovelace via slack" in json.dumps(update.params["blocks"])
    assert [e["event_action"] for e in fake_pagerduty.take()] == ["acknowledge"]
    assert len(fake_slack.take("chat.postEphemeral")) == 1
    clock.shift(timedelta(minutes=11))
    tick()
    assert not Message.objects.filter(engineer=cast.grace).exists()


def test_channel_posts_are_enqueued_with_their_incident_in_one_insert(clock, cast) -> None:
    incident = fire(cast.service)
    targets = [
        EscalationTarget(kind="slack_channel", address="C0OPS"),
        EscalationTarget(kind="pagerduty_service", address=ROUTING_KEY),
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        notes = channel_targets_post(incident_id=incident.pk, targets=targets, step=2, loop=1)
    assert notes == ["Slack channel C0OPS", "PagerDuty service …0001"]
    # No follow-up UPDATE tying the rows to the incident: written with it.
    assert not [q["sql"] for q in queries if q["sql"].startswith('UPDATE "paging_message"')]
    rows = Message.objects.filter(kind__in=["slack_channel", "pagerduty"]).order_by("kind")
    assert [(m.kind, m.incident_id, m.escalation_step, m.escalation_loop) for m in rows] == [
        ("pagerduty", incident.pk, 2, 1),
        ("slack_channel", incident.pk, 2, 1),
    ]
    queued = IncidentEvent.objects.filter(incident=incident, kind="notification_queued")
    assert sorted(queued.values_list("text", flat=True)) == [
        "PagerDuty trigger to service …0001",
        "Slack post to C0OPS",
    ]
    # A re-run of the same step in the same loop adds nothing.
    with transaction.atomic():
        channel_targets_post(incident_id=incident.pk, targets=targets, step=2, loop=1)
    assert rows.count() == 2 and queued.count() == 2


def test_failed_channel_post_says_so_without_an_engineer_fallback(
    clock, cast, fake_slack, fake_pagerduty
) -> None:
    policy = EscalationPolicyFactory()
    first = EscalationStepFactory(policy=policy, position=0, delay_minutes=10)
    EscalationTargetFactory(step=first, kind="slack_channel", address="C0GONE")
    cast.service.escalation_policy = policy
    cast.service.save()
    fake_slack.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    incident = fire(cast.service)
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 1
    post = Message.objects.get(kind="slack_channel")
    assert (post.status, post.engineer_id) == ("failed", None)
    events = IncidentEvent.objects.filter(incident=incident)
    assert not events.filter(kind="no_contact").exists()
    failed = events.get(kind="notification_failed")
    assert failed.text == (
        "could not reach Slack channel C0GONE: slack chat.postMessage: channel_not_found "
        "(permanent)"
    )
    assert (failed.message_id, failed.data) == (post.pk, {"target": "Slack channel C0GONE"})
