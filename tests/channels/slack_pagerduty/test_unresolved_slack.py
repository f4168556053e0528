"""Through the fake Slack: an unresolved step posts to a channel and DMs a person whose
low-urgency ladder starts with Slack; `/oncall resolve N <resolution>`."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from paging.engine import tick
from paging.incident_actions import incident_acknowledge
from paging.models import Incident
from paging.policy_writes import StepSpec, TargetSpec, UnresolvedSpec, policy_save
from tests.channels.slack_pagerduty.conftest import ADA_SLACK, fire
from tests.channels.slack_pagerduty.test_slack_inbound import command_body, paged, signed  # noqa: F401
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.paging.factories import ServiceFactory

LEAD_SLACK = "U0LEAD0001"


def test_unresolved_step_posts_to_the_channel_and_dms_the_ladder_start(
    clock, cast, fake_slack
) -> None:
    lead = EngineerFactory(display_name="Lin Lead")
    dm = ContactMethodFactory(engineer=lead, kind="slack", value=LEAD_SLACK)
    sms = ContactMethodFactory(engineer=lead, kind="sms", value="+14155550009")
    NotificationRuleFactory(engineer=lead, contact_method=dm, urgency="low")
    NotificationRuleFactory(engineer=lead, contact_method=sms, urgency="low", delay_minutes=5)
    policy = policy_save(
        policy=None,
        fields={"name": "payments-unresolved"},
        steps=[StepSpec(10, [TargetSpec("engineer", cast.ada.pk)])],
        unresolved=[
            UnresolvedSpec(30, TargetSpec("engineer", lead.pk)),
            UnresolvedSpec(30, TargetSpec("slack_channel", address="C0LEADS")),
        ],
    )
    incident = fire(ServiceFactory(name="Checkout", escalation_policy=policy))
    tick()
    assert [c.params["users"] for c in fake_slack.take("conversations.open")] == [ADA_SLACK]
    assert len(fake_slack.take("chat.postMessage")) == 1  # Ada's page
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk, via="api")
    tick()
    fake_slack.take("chat.update")  # the page shows the ack

    clock.shift(timedelta(minutes=30))
    tick()
    assert [c.params["users"] for c in fake_slack.take("conversations.open")] == [LEAD_SLACK]
    posts = fake_slack.take("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == sorted(["C0LEADS", "D" + LEAD_SLACK[1:]])
    for post in posts:
        assert "Still unresolved after 30 min: Checkout: Payment API down" in post.params["text"]
        assert "blocks" not in post.params  # a notice: no Acknowledge button
    clock.shift(timedelta(hours=1))
    tick()
    assert fake_slack.take() == []  # once, and no SMS rung


def test_slash_resolve_with_a_resolution(clock, cast, fake_slack, paged) -> None:  # noqa: F811
    client = Client()
    bad = signed(client, "/slack/commands/", command_body(f"resolve {paged.pk} oops"))
    assert "A resolution is one of: fixed, false_positive" in bad.json()["text"]
    assert Incident.objects.get(pk=paged.pk).status == "triggered"
    response = signed(
        client, "/slack/commands/", command_body(f"resolve {paged.pk} false positive")
    )
    assert response.json()["text"] == f"You resolved #{paged.pk} (false positive)."
    incident = Incident.objects.get(pk=paged.pk)
    assert (incident.status, incident.resolution, incident.resolved_via) == (
        "resolved",
        "false_positive",
        "slack",
    )
    tick()
    fake_slack.take("chat.update")
