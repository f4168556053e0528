"""The real twilio client against the fake Twilio API: what is sent, retries, fallback."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction

from paging.channels import TransportError
from paging.channels.links.tokens import link_read
from paging.channels.twilio.models import SmsReplyCode
from paging.channels.twilio.transport import TwilioSmsTransport
from paging.incident_actions import incident_acknowledge
from paging.models import IncidentEvent, Message
from paging.outbox import message_enqueue
from tests.channels.twilio_email_links.conftest import ACCOUNT_SID, FROM_NUMBER, PUBLIC
from tests.support import T0, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]

MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


def test_page_sms_carries_code_link_and_status_callback(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    tick_at(clock, T0)
    sent = fake_twilio.take_one()
    assert sent.path == MESSAGES_PATH
    assert sent.account == ACCOUNT_SID
    assert sent.form["To"] == "+15551230001"
    assert sent.form["From"] == FROM_NUMBER
    message = Message.objects.get(incident=incident, kind="sms")
    assert sent.form["StatusCallback"] == f"{PUBLIC}/twilio/status/{message.pk}/"
    body = sent.form["Body"]
    assert f"payments: DB down (#{incident.pk}, critical)" in body
    assert "Reply 1a to ack, 1r resolve, 1e escalate" in body
    url = re.search(r"Ack: (\S+)$", body)[1]
    assert url.startswith(f"{PUBLIC}/l/")
    target = link_read(url.removeprefix(f"{PUBLIC}/l/").rstrip("/"))
    assert (target.incident_id, target.engineer_id, target.action) == (
        incident.pk,
        cast.alice.pk,
        "acknowledge",
    )
    assert len(body) < 200
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.transport == "twilio-sms"
    assert message.provider_id.startswith("SM")
    code = SmsReplyCode.objects.get(phone="+15551230001", incident=incident)
    assert (code.code, code.engineer_id) == (1, cast.alice.pk)


def test_page_call_points_twilio_at_our_twiml(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    tick_at(clock, T0)
    fake_twilio.take_one()  # the SMS
    tick_at(clock, T0 + timedelta(minutes=5))
    call = fake_twilio.take_one()
    message = Message.objects.get(incident=incident, kind="voice")
    assert call.path == CALLS_PATH
    assert call.form["To"] == "+15551230001"
    assert call.form["From"] == FROM_NUMBER
    assert call.form["Url"] == f"{PUBLIC}/twilio/voice/{message.pk}/"
    assert call.form["Method"] == "POST"
    assert call.form["StatusCallback"] == f"{PUBLIC}/twilio/status/{message.pk}/"
    assert call.multi["StatusCallbackEvent"] == ["completed"]
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.provider_id.startswith("CA")


def test_invalid_number_disables_the_method_and_falls_back(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    fake_twilio.fail_next(400, code=21211, message="The 'To' number is not a valid phone number.")
    tick_at(clock, T0)
    assert fake_twilio.take_one().path == MESSAGES_PATH  # tried once, not retried
    sms = Message.objects.get(incident=incident, kind="sms")
    assert sms.status == Message.Status.FAILED and sms.attempts == 1
    assert "21211" in sms.last_error
    cast.sms.refresh_from_db()
    assert cast.sms.disabled_at is not None
    assert "21211" in cast.sms.disabled_reason and "21211" in cast.sms.last_error
    # The call (due at +5 min) was brought forward: the next tick places it now.
    tick_at(clock, T0 + timedelta(seconds=2))
    assert fake_twilio.take_one().path == CALLS_PATH
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert IncidentEvent.Kind.NOTIFICATION_FAILED in kinds


@pytest.mark.parametrize("code", [21610, 21614])
def test_unsubscribed_or_landline_is_permanent(clock, cast, fake_twilio, code) -> None:
    fire([cast.alice])
    fake_twilio.fail_next(400, code=code)
    tick_at(clock, T0)
    fake_twilio.take_one()
    cast.sms.refresh_from_db()
    assert cast.sms.disabled_at is not None and str(code) in cast.sms.disabled_reason


def test_server_error_is_retried_with_backoff(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    fake_twilio.fail_next(500, code=20500, message="Internal Server Error")
    tick_at(clock, T0)
    assert len(fake_twilio.take()) == 1
    sms = Message.objects.get(incident=incident, kind="sms")
    assert sms.status == Message.Status.PENDING and sms.attempts == 1
    assert "500" in sms.last_error
    cast.sms.refresh_from_db()
    assert cast.sms.disabled_at is None
    tick_at(clock, T0 + timedelta(seconds=5))  # backoff is 10 s: not yet
    assert fake_twilio.take() == []
    tick_at(clock, T0 + timedelta(seconds=11))
    assert fake_twilio.take_one().form["To"] == "+15551230001"
    sms.refresh_from_db()
    assert sms.status == Message.Status.SENT and sms.attempts == 2


def test_timeout_is_transient(clock, cast, fake_twilio, settings) -> None:
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    incident = fire([cast.alice])
    fake_twilio.stall_next(1.0)
    tick_at(clock, T0)
    fake_twilio.take_one()
    sms = Message.objects.get(incident=incident, kind="sms")
    assert sms.status == Message.Status.PENDING
    assert "timed out" in sms.last_error


def test_rate_limited_429_is_transient(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    fake_twilio.fail_next(429, code=20429, message="Too Many Requests")
    tick_at(clock, T0)
    fake_twilio.take_one()
    assert Message.objects.get(incident=incident, kind="sms").status == Message.Status.PENDING


def test_no_message_after_an_ack(clock, cast, fake_twilio) -> None:
    incident = fire([cast.alice])
    tick_at(clock, T0)
    fake_twilio.take_one()
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.alice.pk, via="api")
    for minutes in (5, 10, 20, 40):
        tick_at(clock, T0 + timedelta(minutes=minutes))
    assert fake_twilio.take() == []  # the fixture also fails on anything left over


def test_non_page_messages_are_sent_as_is(clock, cast, fake_twilio) -> None:
    from oncall.people.services.verification import contact_method_send_verification

    cast.sms.verified_at = None
    cast.sms.save()
    contact_method_send_verification(contact_method=cast.sms)
    tick_at(clock, T0)
    sent = fake_twilio.take_one()
    message = Message.objects.get(purpose=Message.Purpose.VERIFICATION)
    assert sent.form["Body"] == message.body
    assert sent.form["To"] == cast.sms.value


def test_console_stands_in_without_credentials(clock, cast, settings) -> None:
    settings.TWILIO_ENABLED = False
    incident = fire([cast.alice])
    tick_at(clock, T0)
    assert Message.objects.get(incident=incident, kind="sms").transport == "console"


@pytest.mark.parametrize("purpose", ["swap", "reminder", "notice"])
def test_other_purposes_go_out_with_their_body(clock, cast, fake_twilio, purpose) -> None:
    from paging.outbox import message_enqueue

    message_enqueue(
        idempotency_key=f"{purpose}:1",
        purpose=purpose,
        kind="sms",
        destination=cast.sms.value,
        subject="Shift swap requested",
        body="Bob asks you to take Mon 09:00 - Tue 09:00 (Payments).",
        engineer_id=cast.alice.pk,
        contact_method_id=cast.sms.pk,
    )
    tick_at(clock, T0)
    sent = fake_twilio.take_one()
    assert sent.form["Body"] == "Bob asks you to take Mon 09:00 - Tue 09:00 (Payments)."
    assert sent.form["To"] == cast.sms.value


def test_transport_reports_a_bad_number_and_leaves_state_to_the_outbox(
    clock, cast, fake_twilio
) -> None:
    fake_twilio.fail_next(400, code=21211, message="The 'To' number is not a valid phone number.")
    with transaction.atomic():
        message = message_enqueue(
            idempotency_key="notice:1",
            purpose=Message.Purpose.NOTICE,
            kind="sms",
            destination="+15551230001",
            body="hello",
            engineer_id=cast.alice.pk,
            contact_method_id=cast.sms.pk,
        )
    with pytest.raises(TransportError) as caught:
        TwilioSmsTransport().send(message)
    assert caught.value.permanent
    assert caught.value.disable_reason == "Twilio error 21211: invalid phone number"
    cast.sms.refresh_from_db()
    assert (cast.sms.disabled_at, cast.sms.last_error) == (None, "")
    assert fake_twilio.take_one().form["To"] == "+15551230001"


def test_a_verification_call_leaves_every_page_call_of_the_window(
    clock, cast, fake_twilio, monkeypatch
) -> None:
    """Verification codes are not pages: the voice page limit (3 per 15 min) counts
    only pages, so a call with a code just before leaves 3 page calls, not 2."""
    from oncall.people.services.verification import (
        contact_method_send_verification,
        contact_method_verify,
    )
    from paging.models import Incident

    voice = cast.voice
    voice.verified_at = None
    voice.save()
    # Alice is paged by phone only, at once.
    voice.notification_rules.update(delay_minutes=0)
    cast.sms.notification_rules.all().delete()
    cast.email.notification_rules.all().delete()

    monkeypatch.setattr("oncall.people.services.verification._new_code", lambda: "424242")
    contact_method_send_verification(contact_method=voice)
    tick_at(clock, T0)
    [call] = fake_twilio.take()
    assert call.path == CALLS_PATH
    contact_method_verify(contact_method=voice, code="424242")

    incidents = [fire([cast.alice], key=f"k{n}", title=f"DB {n} down") for n in range(3)]
    tick_at(clock, T0 + timedelta(minutes=1))
    calls = fake_twilio.take()
    assert [c.path for c in calls] == [CALLS_PATH] * 3
    # Three separate page calls, none held or bundled.
    pages = Message.objects.filter(purpose="page", kind="voice")
    assert sorted(pages.values_list("status", flat=True)) == ["sent"] * 3
    assert not IncidentEvent.objects.filter(kind="notification_throttled").exists()
    assert {m.incident_id for m in pages} == {i.pk for i in incidents}
    assert Incident.objects.count() == 3
