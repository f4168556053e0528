"""Pages by web push, sent by the real pywebpush to the loopback push service, which
checks the VAPID signature and decrypts each push with the browser's keys: what arrives,
and how each answer of a push service is handled through the outbox (201 once; 404/410
disable the method and say so on the timeline; 429 and 5xx retry; a slow answer is sent
again under the same topic; a refused VAPID signature fails without disabling)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from oncall.people.models import ContactMethod
from paging.channels import channel_for
from paging.channels.console import ConsoleChannel
from paging.channels.links.tokens import link_read
from paging.channels.webpush.transport import retry_after_seconds
from paging.engine import tick
from paging.models import Incident, IncidentEvent, Message
from paging.test_pages import contact_method_send_test
from tests.channels.webpush.conftest import PUBLIC, SUBJECT, paged_engineer
from tests.support import T0, fire

pytestmark = pytest.mark.django_db


def events(incident: Incident, kind: str) -> list[str]:
    return list(
        IncidentEvent.objects.filter(incident=incident, kind=kind)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_a_page_reaches_the_push_service_once_signed_and_encrypted(
    clock, push_service, vapid_pair
) -> None:
    ada, cm, sub = paged_engineer(push_service, vapid_pair[1])
    incident = fire([ada])
    tick()

    [push] = push_service.take()
    assert push.subscription == sub.id
    # Decrypted with the browser's private key: what the service worker shows.
    assert push.payload["title"] == f"[HIGH] #{incident.pk} DB down"
    assert push.payload["body"] == (
        f"payments: DB down (#{incident.pk}, critical), open less than a minute. "
        "Tap Acknowledge to take it."
    )
    assert push.payload["tag"] == f"incident-{incident.pk}"
    assert push.payload["ack_url"] == push.payload["url"]
    assert push.payload["ack_url"].startswith(f"{PUBLIC}/l/")
    target = link_read(push.payload["ack_url"].removeprefix(f"{PUBLIC}/l/").rstrip("/"))
    assert (target.incident_id, target.engineer_id, target.action) == (
        incident.pk,
        ada.pk,
        "acknowledge",
    )
    # Signed for this push service by our key (the fake checked the signature).
    assert push.claims["aud"] == push_service.origin
    assert push.claims["sub"] == SUBJECT
    assert push.headers["urgency"] == "high"
    assert push.headers["ttl"] == "3600"
    assert push.headers["topic"] == f"i{incident.pk}e{ada.pk}"

    page = Message.objects.get(kind="webpush", purpose="page")
    assert (page.status, page.transport, page.provider_id) == ("sent", "webpush", "msg-1")
    assert page.destination == cm.value
    assert events(incident, "notification_sent") == [f"webpush to {cm.value}"]

    # Exactly once: later ticks leave the push service alone.
    for _ in range(3):
        clock.shift(timedelta(seconds=30))
        tick()
    assert push_service.take() == []
    assert push_service.requests == 1


def test_the_ack_link_in_the_push_acknowledges(clock, push_service, vapid_pair) -> None:
    ada, _, _ = paged_engineer(push_service, vapid_pair[1])
    incident = fire([ada])
    tick()
    [push] = push_service.take()
    path = push.payload["ack_url"].removeprefix(PUBLIC)
    client = Client()
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by_id) == ("acknowledged", ada.pk)


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_disables_the_method_and_the_next_rung_comes_forward(
    clock, push_service, vapid_pair, status
) -> None:
    ada, cm, sub = paged_engineer(push_service, vapid_pair[1], ladder=[("email", 10)])
    if status == 410:
        push_service.gone(sub)
    else:
        push_service.reply(404)
    incident = fire([ada])
    tick()

    cm.refresh_from_db()
    assert cm.disabled_at is not None and not cm.is_pageable
    assert f"answered {status}" in cm.disabled_reason
    assert "subscription has ended" in cm.disabled_reason
    [failed] = events(incident, "notification_failed")
    assert failed.startswith(f"webpush to {cm.value}: the push service answered {status}")
    assert "contact method disabled (permanent)" in failed
    page = Message.objects.get(kind="webpush", purpose="page")
    assert (page.status, page.attempts) == ("failed", 1)
    # The ladder goes on at once instead of after 10 minutes.
    assert any(
        t.startswith("falling back to email") for t in events(incident, "notification_queued")
    )
    email = Message.objects.get(kind="email", purpose="page")
    assert email.due_at == T0
    # A disabled method is not paged again.
    clock.shift(timedelta(minutes=20))
    tick()
    assert push_service.requests == 1


def test_a_rate_limit_waits_for_retry_after(clock, push_service, vapid_pair) -> None:
    ada, _, _ = paged_engineer(push_service, vapid_pair[1])
    push_service.reply(429, {"Retry-After": "120"})
    incident = fire([ada])
    tick()

    page = Message.objects.get(kind="webpush", purpose="page")
    assert (page.status, page.rate_limited) == ("pending", 1)
    assert page.due_at == T0 + timedelta(seconds=120)
    assert events(incident, "notification_failed")[0].endswith("(will retry)")
    clock.shift(timedelta(seconds=119))
    tick()
    assert push_service.take() == []
    clock.shift(timedelta(seconds=1))
    tick()
    assert len(push_service.take()) == 1
    page.refresh_from_db()
    assert page.status == "sent"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_with_backoff(clock, push_service, vapid_pair, status) -> None:
    ada, cm, _ = paged_engineer(push_service, vapid_pair[1])
    push_service.reply(status)
    fire([ada])
    tick()
    page = Message.objects.get(kind="webpush", purpose="page")
    assert (page.status, page.attempts) == ("pending", 1)
    assert f"push service answered {status}" in page.last_error
    clock.shift(timedelta(seconds=10))
    tick()
    [push] = push_service.take()
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("sent", 2)
    cm.refresh_from_db()
    assert cm.disabled_at is None


def test_a_slow_push_service_gets_the_page_again_under_the_same_topic(
    clock, push_service, vapid_pair, settings
) -> None:
    settings.WEBPUSH_TIMEOUT_SECONDS = 1
    ada, cm, _ = paged_engineer(push_service, vapid_pair[1])
    push_service.stall_next(2.5)  # it keeps the push and answers after our timeout
    incident = fire([ada])
    tick()
    page = Message.objects.get(kind="webpush", purpose="page")
    assert page.status == "pending" and page.attempt_started_at is not None
    assert "push service timed out" in page.last_error

    clock.shift(timedelta(seconds=10))
    tick()
    first, second = push_service.take()
    # A push service cannot be asked what it accepted: the page goes again, said so on
    # the timeline, with the same Topic (the push service replaces a copy it still
    # holds) and the same tag (the device shows one notification).
    assert first.headers["topic"] == second.headers["topic"]
    assert first.payload["tag"] == second.payload["tag"] == f"incident-{incident.pk}"
    assert any("may have arrived" in t for t in events(incident, "notification_queued"))
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("sent", 2)


def test_a_refused_vapid_signature_fails_without_disabling(clock, push_service, vapid_pair) -> None:
    """A browser subscribed under another server key (the key was changed since): the
    push service refuses our signature; the server's to fix, the method stays."""
    ada, cm, sub = paged_engineer(push_service, vapid_pair[1])
    sub.application_server_key = "another-key"
    incident = fire([ada])
    tick()
    page = Message.objects.get(kind="webpush", purpose="page")
    assert page.status == "failed"
    assert "VAPID signature was refused" in page.last_error
    assert "WEBPUSH_VAPID_PRIVATE_KEY" in events(incident, "notification_failed")[0]
    cm.refresh_from_db()
    assert cm.disabled_at is None
    assert push_service.refused == ["403: k is not the key the subscription was made with"]
    push_service.refused.clear()


def test_a_test_page_is_a_plain_notification(clock, push_service, vapid_pair) -> None:
    ada, cm, _ = paged_engineer(push_service, vapid_pair[1])
    contact_method_send_test(contact_method=cm)
    tick()
    [push] = push_service.take()
    assert push.payload["title"]
    assert push.payload["ack_url"] == "" and push.payload["url"] == f"{PUBLIC}/me/contact/"
    assert push.headers["urgency"] == "normal"
    message = Message.objects.get(contact_method=cm)
    assert push.payload["body"] == message.body.strip()
    assert push.headers["topic"] == f"m{message.pk}"


def test_without_a_vapid_key_the_console_stands_in(settings) -> None:
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert isinstance(channel_for("webpush"), ConsoleChannel)


def test_retry_after_reads_seconds_and_dates(clock) -> None:
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds(None) == 60
    assert retry_after_seconds("soon") == 60
    assert retry_after_seconds("Mon, 02 Mar 2026 03:02:00 GMT") == 120


def test_the_method_stays_as_it_was_after_a_transient_failure(
    clock, push_service, vapid_pair
) -> None:
    ada, cm, _ = paged_engineer(push_service, vapid_pair[1])
    push_service.reply(503)
    fire([ada])
    tick()
    assert ContactMethod.objects.get(pk=cm.pk).is_pageable
