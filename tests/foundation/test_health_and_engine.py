"""/healthz, the engine tick and the console channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from paging.engine import tick
from paging.models import EngineHeartbeat, Message
from paging.outbox import message_enqueue

HEALTHZ_AUTH = "Bearer test-healthz-token"  # tests/settings.py HEALTHZ_TOKEN

pytestmark = pytest.mark.django_db


def test_healthz_is_503_before_the_engine_ticks_and_200_after(client: Client) -> None:
    response = client.get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 503
    assert response.json()["engine"]["ok"] is False
    assert response.json()["database"] == {"ok": True}

    tick()
    response = client.get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["engine"]["last_tick_age_seconds"] < 5


def test_healthz_turns_503_when_the_engine_stalls(client: Client, settings) -> None:
    settings.ENGINE_STALE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        tick()
        traveller.shift(timedelta(seconds=59))
        assert client.get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH).status_code == 200
        traveller.shift(timedelta(seconds=2))
        response = client.get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 503
    assert response.json()["engine"]["last_tick_age_seconds"] == pytest.approx(61, abs=0.01)


def test_schema_endpoint_answers(client: Client) -> None:
    assert client.get("/api/schema/").status_code == 200


def test_console_channel_sends_due_messages_once_and_prints(caplog) -> None:
    now = timezone.now()
    message_enqueue(
        idempotency_key="k1",
        purpose="notice",
        kind="sms",
        destination="+14155550100",
        body="hello",
        due_at=now,
    )
    later = message_enqueue(
        idempotency_key="k2",
        purpose="notice",
        kind="sms",
        destination="+14155550100",
        body="later",
        due_at=now + timedelta(minutes=5),
    )
    # Same key again: no second row.
    message_enqueue(
        idempotency_key="k1", purpose="notice", kind="sms", destination="+1", body="dup"
    )
    assert Message.objects.count() == 2

    with caplog.at_level("INFO", logger="oncall.console"):
        tick()
    sent = Message.objects.get(idempotency_key="k1")
    assert sent.status == Message.Status.SENT
    assert sent.transport == "console"
    assert sent.attempts == 1
    assert "[console sms -> +14155550100] hello" in caplog.text
    later.refresh_from_db()
    assert later.status == Message.Status.PENDING

    tick()  # nothing due: the sent one is not sent again
    assert Message.objects.get(idempotency_key="k1").attempts == 1
    assert EngineHeartbeat.objects.get().processed == 0
