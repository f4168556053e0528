"""The Slack transport with the real slack_sdk WebClient against the fake Slack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oncall.people.models import ContactMethod
from paging.channels import TransportError
from paging.channels.escalation_targets import channel_targets_post
from paging.channels.slack.channel_posts import slack_channel_post
from paging.channels.slack.models import SlackPost, SlackRateHold
from paging.channels.slack.transport import SlackTransport
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import IncidentEvent, Message
from paging.outbox import message_enqueue
from tests.channels.slack_pagerduty.conftest import ADA_SLACK, fire
from tests.factories import ContactMethodFactory, NotificationRuleFactory
from tests.paging.factories import EscalationStepFactory, EscalationTargetFactory

pytestmark = pytest.mark.django_db


def buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def all_text(blocks: list[dict]) -> str:
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                texts.append(element["text"])
    return "\n".join(texts)


def test_page_is_a_dm_with_three_buttons_and_is_updated_in_place_on_ack(
    clock, cast, fake_slack
) -> None:
    incident = fire(cast.service)
    tick()

    opened = fake_slack.take("conversations.open")
    assert [c.params["users"] for c in opened] == [ADA_SLACK]
    [post] = fake_slack.take("chat.postMessage")
    assert post.token == "xoxb-test-token"
    assert post.params["channel"] == "D024BE7LH"
    assert buttons(post.params["blocks"]) == [
        ("incident_acknowledge", str(incident.pk)),
        ("incident_resolve", str(incident.pk)),
        ("incident_escalate", str(incident.pk)),
    ]
    assert "Payment API down" in all_text(post.params["blocks"])
    assert "Payments" in all_text(post.params["blocks"])
    assert f"#{incident.pk}" in post.params["text"]
    saved = SlackPost.objects.get()
    assert (saved.incident_id, saved.channel, saved.kind) == (incident.pk, "D024BE7LH", "direct")
    page = Message.objects.get(kind="slack")
    assert (page.status, page.provider_id) == ("sent", f"D024BE7LH {saved.ts}")

    clock.shift(timedelta(minutes=2))
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk, via="slack")
    tick()
    [update] = fake_slack.take("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("D024BE7LH", saved.ts)
    text = all_text(update.params["blocks"])
    assert "Acknowledged* by Ada Lovelace via slack at 03:16 UTC" in text
    assert buttons(update.params["blocks"]) == [
        ("incident_resolve", str(incident.pk)),
        ("incident_escalate", str(incident.pk)),
    ]
    # The event is read again while the cursor settles: nothing is sent twice.
    tick()
    clock.shift(timedelta(minutes=2))
    tick()
    assert fake_slack.calls == []

    incident_resolve(incident_id=incident.pk, engineer_id=cast.ada.pk, via="api")
    tick()
    [update] = fake_slack.take("chat.update")
    assert "Resolved* by Ada Lovelace via api" in all_text(update.params["blocks"])
    assert buttons(update.params["blocks"]) == []


def test_no_page_after_ack(clock, cast, fake_slack) -> None:
    NotificationRuleFactory(engineer=cast.ada, contact_method=cast.ada_slack, delay_minutes=3)
    incident = fire(cast.service)
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 1
    fake_slack.take("conversations.open")
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    clock.shift(timedelta(minutes=5))
    tick()
    # The +3 min reminder was cancelled; only the in-place update went out.
    assert [c.method for c in fake_slack.take()] == ["chat.update"]


def test_429_honours_retry_after_without_holding_up_other_destinations(
    clock, cast, fake_slack
) -> None:
    fake_slack.reply(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "45"},
    )
    incident = fire(cast.service)
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 1
    fake_slack.take("conversations.open")
    page = Message.objects.get(kind="slack")
    assert page.status == "pending" and "rate limited" in page.last_error
    hold = SlackRateHold.objects.get()
    assert (hold.destination, hold.until) == (ADA_SLACK, timezone.now() + timedelta(seconds=45))

    # Meanwhile a channel post for the same incident is not held up.
    with transaction.atomic():
        slack_channel_post(incident_id=incident.pk, address="C0ONCALL", step=0, loop=0)
    clock.shift(timedelta(seconds=20))  # the outbox's own backoff (10 s) has passed
    tick()
    [channel_post] = fake_slack.take("chat.postMessage")
    assert channel_post.params["channel"] == "C0ONCALL"
    assert Message.objects.get(pk=page.pk).due_at == hold.until

    clock.shift(timedelta(seconds=26))
    tick()
    assert [c.params["users"] for c in fake_slack.take("conversations.open")] == [ADA_SLACK]
    [retry] = fake_slack.take("chat.postMessage")
    assert retry.params["channel"] == "D024BE7LH"
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("sent", 2)
    assert not SlackRateHold.objects.exists()


def test_member_not_found_disables_the_method_and_falls_back(clock, cast, fake_slack) -> None:
    email = ContactMethodFactory(engineer=cast.ada, kind="email", value="ada@example.test")
    NotificationRuleFactory(engineer=cast.ada, contact_method=email, delay_minutes=5)
    fake_slack.reply("conversations.open", body={"ok": False, "error": "user_not_found"})
    incident = fire(cast.service)
    tick()
    assert len(fake_slack.take("conversations.open")) == 1
    page = Message.objects.get(kind="slack")
    assert (page.status, page.last_error) == ("failed", "slack conversations.open: user_not_found")
    cm = ContactMethod.objects.get(pk=cast.ada_slack.pk)
    assert cm.disabled_at is not None and cm.disabled_reason == "Slack: user_not_found"
    # The e-mail rung (due at +5 min) was brought forward and sent in the same tick
    # or the next one, without waiting.
    tick()
    assert Message.objects.get(kind="email").status == "sent"
    texts = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", "text"))
    assert (
        "notification_failed",
        "slack to U024BE7LH: slack conversations.open: user_not_found (permanent)",
    ) in texts
    assert any(k == "notification_queued" and "falling back to email" in t for k, t in texts)


def test_invalid_auth_fails_fast_but_keeps_the_contact_method(clock, cast, fake_slack) -> None:
    fake_slack.reply("conversations.open", body={"ok": False, "error": "invalid_auth"})
    fire(cast.service)
    tick()
    assert len(fake_slack.take()) == 1
    page = Message.objects.get(kind="slack")
    assert (page.status, page.attempts) == ("failed", 1)
    assert ContactMethod.objects.get(pk=cast.ada_slack.pk).disabled_at is None


def test_5xx_and_timeouts_are_retried(clock, cast, fake_slack, monkeypatch) -> None:
    monkeypatch.setattr("paging.channels.slack.client.TIMEOUT_SECONDS", 0.3)
    fake_slack.reply("chat.postMessage", status=503, body="<html>down</html>")
    fake_slack.reply("chat.postMessage", delay=1.0)
    fire(cast.service)
    tick()
    page = Message.objects.get(kind="slack")
    assert (page.status, page.attempts) == ("pending", 1)
    assert "HTTP 503" in page.last_error or "503" in page.last_error
    clock.shift(timedelta(seconds=11))
    tick()
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("pending", 2)
    assert "timed out" in page.last_error
    clock.shift(timedelta(seconds=21))
    tick()
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("sent", 3)
    assert [c.method for c in fake_slack.take("chat.postMessage")] == ["chat.postMessage"] * 3
    # The try after the timeout first asked the DM's history whether the post had
    # arrived (it had not: the scripted answer never stored it), then posted.
    [history] = fake_slack.take("conversations.history")
    assert history.params["include_all_metadata"] in (True, "true", "1", 1)
    assert len(fake_slack.take("conversations.open")) == 4


def test_slack_dm_found_by_email_lookup(clock, cast, fake_slack) -> None:
    fake_slack.users_by_email["ada@example.test"] = ADA_SLACK
    message_enqueue(
        idempotency_key="verify:1",
        purpose=Message.Purpose.VERIFICATION,
        kind="slack",
        destination="ada@example.test",
        subject="Verification code",
        body="Your code is 123456",
    )
    tick()
    [lookup] = fake_slack.take("users.lookupByEmail")
    assert lookup.params["email"] == "ada@example.test"
    assert [c.params["users"] for c in fake_slack.take("conversations.open")] == [ADA_SLACK]
    [post] = fake_slack.take("chat.postMessage")
    assert post.params["text"] == "Verification code\nYour code is 123456"
    assert "blocks" not in post.params


def test_channel_target_posts_once_per_step_and_loop(clock, cast, fake_slack) -> None:
    incident = fire(cast.service)
    step = EscalationStepFactory(position=5)
    target = EscalationTargetFactory(step=step, kind="slack_channel", address="C0ONCALL")
    with transaction.atomic():
        notes = channel_targets_post(incident_id=incident.pk, targets=[target], step=0, loop=0)
        channel_targets_post(incident_id=incident.pk, targets=[target], step=0, loop=0)
    assert notes == ["Slack channel C0ONCALL"]
    row = Message.objects.get(kind="slack_channel")
    assert (row.incident_id, row.escalation_step, row.escalation_loop) == (incident.pk, 0, 0)
    tick()
    fake_slack.take("conversations.open")  # Ada's DM from step 1
    posts = fake_slack.take("chat.postMessage")
    channel_posts = [p for p in posts if p.params["channel"] == "C0ONCALL"]
    assert len(channel_posts) == 1
    assert buttons(channel_posts[0].params["blocks"])[0] == (
        "incident_acknowledge",
        str(incident.pk),
    )
    assert SlackPost.objects.filter(kind="channel", channel="C0ONCALL").count() == 1


def test_a_failing_bridge_step_does_not_stop_the_tick(clock, cast, fake_slack, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("paging.channels.incident_changes._anything_to_forward", broken)
    monkeypatch.setattr("paging.channels.slack.rate_holds.SlackRequestSeen.objects.filter", broken)
    incident = fire(cast.service)
    tick()
    # The page still went out although the bridges step blew up.
    assert Message.objects.get(kind="slack", incident=incident).status == "sent"
    fake_slack.take()


def test_an_odd_slack_answer_is_a_transient_error(clock, cast, fake_slack) -> None:
    fake_slack.reply("conversations.open", body={"ok": True, "channel": "not-an-object"})
    fire(cast.service)
    tick()
    page = Message.objects.get(kind="slack")
    assert (page.status, page.attempts) == ("pending", 1)
    assert page.last_error.startswith("slack conversations.open: TypeError")
    fake_slack.take()


def test_unknown_email_is_a_permanent_lookup_error(clock, cast, fake_slack) -> None:
    message_enqueue(
        idempotency_key="verify:2",
        purpose=Message.Purpose.VERIFICATION,
        kind="slack",
        destination="nobody@example.test",
        body="Your code is 654321",
    )
    tick()
    assert [c.method for c in fake_slack.take()] == ["users.lookupByEmail"]
    row = Message.objects.get(idempotency_key="verify:2")
    assert (row.status, row.last_error) == ("failed", "slack users.lookupByEmail: users_not_found")


def test_timeline_reading_costs_a_fixed_number_of_queries(
    clock, cast, fake_slack, django_assert_max_num_queries
) -> None:
    from paging.channels.incident_changes import incident_changes_forward

    incidents = [fire(cast.service, key=f"k{n}", title=f"Incident {n}") for n in range(30)]
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 30
    fake_slack.take()
    for incident in incidents:
        incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    with django_assert_max_num_queries(12):
        assert incident_changes_forward() == 30
    with django_assert_max_num_queries(12):
        assert incident_changes_forward() == 0  # read again inside the settle window
    assert Message.objects.filter(kind="slack_update").count() == 30


def test_forwarding_asks_one_question_when_no_bridge_is_in_use_or_nothing_is_new(
    clock, cast, fake_slack, settings, django_assert_num_queries
) -> None:
    from paging.channels.event_cursor import SETTLE
    from paging.channels.incident_changes import incident_changes_forward

    settings.SLACK_ENABLED = False  # nothing posted to Slack: no bridge in use
    incident = fire(cast.service)
    tick()
    assert not SlackPost.objects.exists()
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.ada.pk)
    with django_assert_num_queries(1):
        assert incident_changes_forward() == 0

    # In use: the changes are read, then (the cursor past them) one question again.
    settings.SLACK_ENABLED = True
    second = fire(cast.service, key="k2", title="Second")
    tick()
    fake_slack.take()
    incident_acknowledge(incident_id=second.pk, engineer_id=cast.ada.pk)
    clock.shift(SETTLE + timedelta(seconds=1))
    assert incident_changes_forward() == Message.objects.filter(kind="slack_update").count() > 0
    with django_assert_num_queries(1):
        assert incident_changes_forward() == 0


def test_transport_reports_an_unreachable_member_and_leaves_state_to_the_outbox(
    clock, cast, fake_slack
) -> None:
    fake_slack.reply("conversations.open", body={"ok": False, "error": "user_not_found"})
    with transaction.atomic():
        message = message_enqueue(
            idempotency_key="notice:1",
            purpose=Message.Purpose.NOTICE,
            kind="slack",
            destination=ADA_SLACK,
            body="hello",
            engineer_id=cast.ada.pk,
            contact_method_id=cast.ada_slack.pk,
        )
    with pytest.raises(TransportError) as caught:
        SlackTransport().send(message)
    assert caught.value.permanent and caught.value.disable_reason == "Slack: user_not_found"
    cm = ContactMethod.objects.get(pk=cast.ada_slack.pk)
    assert (cm.disabled_at, cm.disabled_reason) == (None, "")
    fake_slack.take()


def test_429_carries_retry_after_for_the_outbox(clock, cast, fake_slack) -> None:
    fake_slack.reply(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "45"},
    )
    fire(cast.service)
    tick()
    page = Message.objects.get(kind="slack")
    # Not counted against the outbox's attempts limit, and due when Slack said.
    assert (page.attempts, page.rate_limited) == (1, 1)
    assert page.due_at == timezone.now() + timedelta(seconds=45)
    fake_slack.take()


@pytest.mark.parametrize("seconds", [1, 2, 4])
def test_429_retry_waits_what_slack_asked_not_the_backoff_floor(
    clock, cast, fake_slack, seconds
) -> None:
    fake_slack.reply(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": str(seconds)},
    )
    fire(cast.service)
    tick()
    assert len(fake_slack.take("chat.postMessage")) == 1
    fake_slack.take("conversations.open")
    page = Message.objects.get(kind="slack")
    sent_at = timezone.now()
    assert page.due_at == sent_at + timedelta(seconds=seconds)

    # Not a moment before Slack's Retry-After …
    clock.shift(timedelta(seconds=seconds) - timedelta(milliseconds=1))
    tick()
    assert fake_slack.take("chat.postMessage") == []
    # … and at once when it has passed (not after the outbox's 10 s backoff).
    clock.shift(timedelta(milliseconds=1))
    tick()
    fake_slack.take("conversations.open")
    [retry] = fake_slack.take("chat.postMessage")
    assert retry.params["channel"] == "D024BE7LH"
    page.refresh_from_db()
    assert (page.status, page.sent_at) == ("sent", sent_at + timedelta(seconds=seconds))


def test_429_without_retry_after_waits_the_default(clock, cast, fake_slack) -> None:
    fake_slack.reply("chat.postMessage", status=429, body={"ok": False, "error": "ratelimited"})
    fire(cast.service)
    tick()
    fake_slack.take()
    page = Message.objects.get(kind="slack")
    # No header: the client's default wait (30 s), never less than the outbox's backoff.
    assert page.due_at == timezone.now() + timedelta(seconds=30)
    assert page.rate_limited == 1
