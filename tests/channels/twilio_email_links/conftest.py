"""Delivery fixtures: fake Twilio and SMTP servers on loopback, settings pointing at
them, a signed-request helper and a paged engineer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from oncall.people.models import ContactMethod, Engineer
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.support import engineer_with

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"
FROM_NUMBER = "+15559870000"
PUBLIC = "https://oncall.example.test"


@pytest.fixture
def fake_twilio(settings) -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_ENABLED = True
    settings.TWILIO_BASE_URL = server.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    settings.PUBLIC_BASE_URL = PUBLIC
    yield server
    server.stop()
    assert server.unexpected() == [], "Twilio received messages nobody expected"


@pytest.fixture
def fake_smtp(settings) -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_ENABLED = True
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "oncall@example.test"
    settings.PUBLIC_BASE_URL = PUBLIC
    yield server
    server.stop()
    assert server.unexpected() == [], "the SMTP server received mail nobody expected"


def twilio_sign(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC + path, params)


def twilio_post(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    signature: str | None = "auto",
):
    """POST like Twilio does (form-encoded, signed over the public URL)."""
    headers = {}
    if signature == "auto":
        headers["HTTP_X_TWILIO_SIGNATURE"] = twilio_sign(path, params)
    elif signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
    )


@dataclass
class Cast:
    alice: Engineer
    sms: ContactMethod
    voice: ContactMethod
    email: ContactMethod
    bob: Engineer


@pytest.fixture
def cast(db) -> Cast:
    alice = engineer_with("Alice", "+15551230001", [("sms", 0), ("voice", 5), ("email", 10)])
    bob = engineer_with("Bob", "+15551230002", [("sms", 0)])
    methods = {cm.kind: cm for cm in alice.contact_methods.all()}
    return Cast(alice, methods["sms"], methods["voice"], methods["email"], bob)
