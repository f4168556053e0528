"""A Slack post whose answer was lost: the transport says "maybe sent", and
``find_sent`` finds the post in the channel's history by its metadata (the real
slack_sdk WebClient against the fake Slack)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from paging.channels import Reconcilable, TransportError
from paging.channels.slack.models import SlackPost
from paging.channels.slack.transport import KIND_CHANNEL, KIND_DM, SlackTransport
from paging.models import Message
from paging.outbox import message_enqueue
from tests.channels.slack_pagerduty.conftest import ADA_SLACK, T0, fire
from tests.fakes.net import refusing_url, unanswered_connect_url

pytestmark = pytest.mark.django_db

ADA_DM = "D024BE7LH"  # the IM channel the fake opens for ADA_SLACK
OPS = "C0OPS00001"


@pytest.fixture
def short_timeout(monkeypatch) -> None:
    monkeypatch.setattr("paging.channels.slack.client.TIMEOUT_SECONDS", 0.3)


def page(cast, kind: str, destination: str, *, key: str = "p1", incident=None) -> Message:
    incident = incident or fire(cast.service)
    with transaction.atomic():
        return message_enqueue(
            idempotency_key=f"{key}:{kind}",
            purpose=Message.Purpose.PAGE,
            kind=kind,
            destination=destination,
            body="fallback body",
            engineer_id=cast.ada.pk if kind == KIND_DM else None,
            incident_id=incident.pk,
        )


def test_transport_is_reconcilable(fake_slack) -> None:
    assert isinstance(SlackTransport(), Reconcilable)


def test_dm_accepted_but_answered_too_late_is_found(clock, cast, fake_slack, short_timeout):
    message = page(cast, KIND_DM, ADA_SLACK)
    fake_slack.stall_next("chat.postMessage", 1.0)
    with pytest.raises(TransportError) as caught:
        SlackTransport().send(message)
    assert (caught.value.maybe_sent, caught.value.permanent) == (True, False)
    assert "timed out" in str(caught.value)
    [post] = fake_slack.take("chat.postMessage")
    assert post.params["metadata"] == {
        "event_type": "oncall_page",
        "event_payload": {"message_id": message.pk, "key": message.idempotency_key},
    }
    [posted] = fake_slack.posted[ADA_DM]  # Slack has it; we have no ts and no SlackPost
    assert not SlackPost.objects.exists()

    clock.shift(timedelta(seconds=40))
    found = SlackTransport().find_sent(message, T0)
    assert found == f"{ADA_DM} {posted['ts']}"
    [history] = fake_slack.take("conversations.history")
    assert history.params["channel"] == ADA_DM
    assert history.params["include_all_metadata"] in ("1", "true", True)
    assert float(history.params["oldest"]) <= T0.timestamp()
    assert len(fake_slack.take("conversations.open")) == 2  # the send and the lookup
    # Remembered like a normal post, so an ack updates it in place.
    saved = SlackPost.objects.get()
    assert (saved.channel, saved.ts, saved.message_id) == (ADA_DM, posted["ts"], message.pk)
    assert fake_slack.take() == []


def test_channel_post_on_a_dropped_connection_is_found(clock, cast, fake_slack, short_timeout):
    message = page(cast, KIND_CHANNEL, OPS)
    fake_slack.drop_next("chat.postMessage")
    with pytest.raises(TransportError) as caught:
        SlackTransport().send(message)
    assert (caught.value.maybe_sent, caught.value.permanent) == (True, False)
    fake_slack.take("chat.postMessage")
    [posted] = fake_slack.posted[OPS]
    assert SlackTransport().find_sent(message, T0) == f"{OPS} {posted['ts']}"
    assert SlackPost.objects.get().kind == SlackPost.Kind.CHANNEL
    fake_slack.take("conversations.history")


def test_post_slack_never_got_is_not_found(clock, cast, fake_slack, short_timeout):
    incident = fire(cast.service)
    ours = page(cast, KIND_CHANNEL, OPS, key="ours", incident=incident)
    other = page(cast, KIND_CHANNEL, OPS, key="other", incident=incident)
    SlackTransport().send(other)  # another row's post, same incident, same channel
    # Someone else's message, and one with our row's id but another database's key.
    fake_slack.posted[OPS].append({"type": "message", "ts": f"{T0.timestamp():.0f}.900000"})
    fake_slack.posted[OPS].append(
        {
            "type": "message",
            "ts": f"{T0.timestamp():.0f}.900001",
            "metadata": {
                "event_type": "oncall_page",
                "event_payload": {"message_id": ours.pk, "key": "elsewhere:1"},
            },
        }
    )
    # Our own post, but from before the attempt (beyond the clock-skew margin).
    clock.move_to(T0 - timedelta(minutes=10))
    SlackTransport().send(ours)
    clock.move_to(T0)
    fake_slack.take("chat.postMessage")
    SlackPost.objects.all().delete()
    assert SlackTransport().find_sent(ours, T0) is None
    # ...but a lookup from before that post finds it: the metadata is what matches.
    assert SlackTransport().find_sent(ours, T0 - timedelta(minutes=11)) is not None
    assert len(fake_slack.take("conversations.history")) == 2


def test_history_is_read_page_by_page(clock, cast, fake_slack, monkeypatch):
    monkeypatch.setattr("paging.channels.slack.transport.RECONCILE_PAGE", 2)
    message = page(cast, KIND_CHANNEL, OPS)
    SlackTransport().send(message)
    for n in range(5):  # newer posts push ours to the third page
        fake_slack.posted[OPS].append({"type": "message", "ts": f"{T0.timestamp():.0f}.5{n}"})
    fake_slack.take("chat.postMessage")
    assert SlackTransport().find_sent(message, T0) == f"{OPS} {fake_slack.posted[OPS][0]['ts']}"
    assert len(fake_slack.take("conversations.history")) == 3


def test_connect_failures_are_not_maybe_sent(clock, cast, fake_slack, settings, short_timeout):
    message = page(cast, KIND_CHANNEL, OPS)
    errors = []
    for unreachable in (refusing_url, unanswered_connect_url):
        with unreachable() as url:
            settings.SLACK_BASE_URL = f"{url}/api"
            with pytest.raises(TransportError) as caught:
                SlackTransport().send(message)
            errors.append(caught.value)
    assert [(e.maybe_sent, e.permanent) for e in errors] == [(False, False), (False, False)]
    assert fake_slack.posted == {}


def test_a_dm_whose_channel_lookup_timed_out_was_not_posted(clock, cast, fake_slack, short_timeout):
    message = page(cast, KIND_DM, ADA_SLACK)
    fake_slack.stall_next("conversations.open", 1.0)
    with pytest.raises(TransportError) as caught:
        SlackTransport().send(message)
    assert caught.value.maybe_sent is False  # nothing was posted
    fake_slack.take("conversations.open")


def test_lookup_failure_raises(clock, cast, fake_slack, short_timeout):
    message = page(cast, KIND_CHANNEL, OPS)
    fake_slack.reply("conversations.history", status=500, body="<html>down</html>")
    with pytest.raises(TransportError) as caught:
        SlackTransport().find_sent(message, timezone.now())
    assert caught.value.permanent is False
    fake_slack.take("conversations.history")
