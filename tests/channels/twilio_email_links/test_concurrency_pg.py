"""Races on PostgreSQL: reply-code allocation and simultaneous SMS acks."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from paging.channels.twilio.models import SmsReplyCode
from paging.channels.twilio.replies import sms_reply_handle
from paging.channels.twilio.reply_codes import reply_code_for
from paging.models import Incident, IncidentEvent
from tests.support import engineer_with, fire

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+15551230001"


def race(n: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # reported in the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_senders_get_distinct_codes() -> None:
    alice = engineer_with("Alice", PHONE, [("sms", 0)])
    incidents = [fire([alice], key=f"k{i}") for i in range(6)]

    def allocate(i: int) -> int:
        with transaction.atomic():  # as inside the dispatcher's transaction
            return reply_code_for(phone=PHONE, incident_id=incidents[i].pk, engineer_id=alice.pk)

    codes = race(6, allocate)
    assert sorted(codes) == [1, 2, 3, 4, 5, 6], codes
    assert SmsReplyCode.objects.filter(phone=PHONE).count() == 6


def test_simultaneous_sms_acks_ack_once(settings) -> None:
    settings.SMS_ERROR_REPLY_LIMIT = 100  # every "already acknowledged" gets its answer
    alice = engineer_with("Alice", PHONE, [("sms", 0)])
    incident = fire([alice])
    reply_code_for(phone=PHONE, incident_id=incident.pk, engineer_id=alice.pk)
    replies = race(5, lambda i: sms_reply_handle(phone=PHONE, body="1a"))
    texts = [r.text for r in replies]
    assert sum(t.startswith("Acknowledged") for t in texts) == 1, texts
    assert sum("was already acknowledged by Alice" in t for t in texts) == 4, texts
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1
