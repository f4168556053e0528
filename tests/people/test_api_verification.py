"""Verification through the API: 202 on send, 429 + Retry-After on resend, verify."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from paging.models import Message
from tests.factories import ContactMethodFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_send_verify_over_the_api(alice_api, alice) -> None:
    cm = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550123", verified_at=None)
    url = f"/api/v1/contact-methods/{cm.pk}/"
    with time_machine.travel(START, tick=False) as clock:
        sent = alice_api.post(f"{url}send-verification/")
        assert sent.status_code == 202
        assert sent.json()["expires_at"] == "2026-03-01T09:15:00Z"
        message = Message.objects.get(purpose="verification")
        assert message.destination == "+14155550123" and message.kind == "sms"
        code = re.search(r"\b(\d{6})\b", message.body).group(1)

        clock.shift(timedelta(seconds=20))
        again = alice_api.post(f"{url}send-verification/")
        assert again.status_code == 429
        assert again["Retry-After"] == "40"
        assert "try again" in again.json()["detail"]

        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = alice_api.post(f"{url}verify/", {"code": wrong}, format="json")
        assert refused.status_code == 400
        assert "4 attempts left" in refused.json()["code"][0]

        ok = alice_api.post(f"{url}verify/", {"code": code}, format="json")
        assert ok.status_code == 200
        assert ok.json()["verified_at"] == "2026-03-01T09:00:20Z"
        assert ok.json()["is_pageable"] is True
