"""A Twilio send whose answer was lost: the transport says "maybe sent", and
``find_sent`` finds the copy Twilio accepted (the real client, the fake's list API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from paging.channels import Reconcilable, TransportError
from paging.channels.twilio.transport import (
    TwilioSmsTransport,
    TwilioVoiceTransport,
    sms_fingerprint,
)
from paging.models import Message
from paging.outbox import message_enqueue
from tests.channels.twilio_email_links.conftest import FROM_NUMBER
from tests.fakes.net import refusing_url, unanswered_connect_url
from tests.support import T0, fire

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]

ALICE = "+15551230001"


def page(cast, kind: str, *, key: str = "p1", incident=None) -> Message:
    """A page to Alice (not dispatched: the tests drive the transport themselves)."""
    incident = incident or fire([cast.alice])
    with transaction.atomic():
        return message_enqueue(
            idempotency_key=f"{key}:{kind}",
            purpose=Message.Purpose.PAGE,
            kind=kind,
            destination=ALICE,
            body="fallback body",
            engineer_id=cast.alice.pk,
            incident_id=incident.pk,
        )


def send_lost(fake_twilio, transport, message) -> TransportError:
    fake_twilio.stall_next(1.0)  # accepted, answered after the client's 0.3 s timeout
    with pytest.raises(TransportError) as caught:
        transport.send(message)
    fake_twilio.take_one()
    return caught.value


@pytest.fixture
def short_timeout(settings) -> None:
    settings.TWILIO_TIMEOUT_SECONDS = 0.3


def test_transports_are_reconcilable() -> None:
    assert isinstance(TwilioSmsTransport(), Reconcilable)
    assert isinstance(TwilioVoiceTransport(), Reconcilable)


def test_sms_accepted_but_answered_too_late_is_found(clock, cast, fake_twilio, short_timeout):
    message = page(cast, "sms")
    error = send_lost(fake_twilio, TwilioSmsTransport(), message)
    assert (error.maybe_sent, error.permanent) == (True, False)
    assert "timed out" in str(error)
    [accepted] = fake_twilio.accepted  # Twilio has it, we have no sid
    # Later (the outbox's backoff): re-rendering signs the ack link anew, so the body we
    # would send differs from the one Twilio has, except in the link's timestamp.
    clock.shift(timedelta(seconds=40))
    again = TwilioSmsTransport().find_sent(message, T0)
    assert again == accepted.sid
    lookups = fake_twilio.take_lookups()
    assert {r.form["To"] for r in lookups} == {ALICE}
    assert {r.form["From"] for r in lookups} == {FROM_NUMBER}
    assert [r.form.get("DateSent>") for r in lookups] == ["2026-03-02", None]
    assert fake_twilio.take() == []  # looking sends nothing


def test_sms_link_timestamps_differ_yet_fingerprints_match(clock, cast, fake_twilio):
    from paging.channels.twilio.transport import sms_text

    message = page(cast, "sms")
    first = sms_text(message)
    clock.shift(timedelta(minutes=5))
    second = sms_text(message)
    assert first != second  # the signed link carries its signing time
    assert sms_fingerprint(first) == sms_fingerprint(second)
    # Twilio's smart encoding and trial prefix do not hide our copy.
    twilio_side = "Sent from your Twilio trial account - " + first.replace("...", "…")
    assert sms_fingerprint(twilio_side).endswith(" " + sms_fingerprint(second))


def test_sms_dropped_connection_is_maybe_sent(clock, cast, fake_twilio, short_timeout):
    message = page(cast, "sms")
    fake_twilio.drop_next()
    with pytest.raises(TransportError) as caught:
        TwilioSmsTransport().send(message)
    assert (caught.value.maybe_sent, caught.value.permanent) == (True, False)
    fake_twilio.take_one()
    assert TwilioSmsTransport().find_sent(message, T0) == fake_twilio.accepted[0].sid
    fake_twilio.take_lookups()


def test_sms_never_received_is_not_found(clock, cast, fake_twilio, short_timeout):
    incident = fire([cast.alice])
    ours = page(cast, "sms", key="ours", incident=incident)
    # What Twilio has instead: the same page an hour earlier, another text to Alice,
    # the same text to someone else, and a copy another outbox row already recorded.
    twin = page(cast, "sms", key="twin", incident=incident)
    clock.move_to(T0 - timedelta(hours=1))
    TwilioSmsTransport().send(twin)
    clock.move_to(T0)
    with transaction.atomic():
        other = message_enqueue(
            idempotency_key="notice",
            purpose=Message.Purpose.NOTICE,
            kind="sms",
            destination=ALICE,
            body="Your shift starts in 1 hour.",
        )
    TwilioSmsTransport().send(other)
    recorded = page(cast, "sms", key="recorded", incident=incident)
    recorded.provider_id = TwilioSmsTransport().send(recorded)
    recorded.status = Message.Status.SENT
    recorded.save()
    fake_twilio.take()
    assert len(fake_twilio.accepted) == 3
    assert TwilioSmsTransport().find_sent(ours, T0) is None
    fake_twilio.take_lookups()


def test_sms_still_queued_at_twilio_is_found(clock, cast, fake_twilio, short_timeout):
    # A queued message has no DateSent: only the "newest" lookup can see it.
    fake_twilio.queue_only = True
    message = page(cast, "sms")
    send_lost(fake_twilio, TwilioSmsTransport(), message)
    assert TwilioSmsTransport().find_sent(message, T0) == fake_twilio.accepted[0].sid
    fake_twilio.take_lookups()


def test_sms_connect_failures_are_not_maybe_sent(clock, cast, fake_twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    message = page(cast, "sms")
    with refusing_url() as url:
        settings.TWILIO_BASE_URL = url
        with pytest.raises(TransportError) as refused:
            TwilioSmsTransport().send(message)
    with unanswered_connect_url() as url:
        settings.TWILIO_BASE_URL = url
        with pytest.raises(TransportError) as timed_out:
            TwilioSmsTransport().send(message)
    assert (refused.value.maybe_sent, refused.value.permanent) == (False, False)
    assert (timed_out.value.maybe_sent, timed_out.value.permanent) == (False, False)
    assert "unreachable" in str(timed_out.value)


def test_lookup_failure_raises(clock, cast, fake_twilio, settings):
    message = page(cast, "sms")
    with refusing_url() as url:
        settings.TWILIO_BASE_URL = url
        with pytest.raises(TransportError, match="lookup of messages failed"):
            TwilioSmsTransport().find_sent(message, T0)


def test_call_accepted_but_answered_too_late_is_found(clock, cast, fake_twilio, short_timeout):
    message = page(cast, "voice")
    error = send_lost(fake_twilio, TwilioVoiceTransport(), message)
    assert (error.maybe_sent, error.permanent) == (True, False)
    [accepted] = fake_twilio.accepted
    assert accepted.url.endswith(f"/twilio/voice/{message.pk}/")
    clock.shift(timedelta(seconds=40))
    assert TwilioVoiceTransport().find_sent(message, T0) == accepted.sid
    lookups = fake_twilio.take_lookups()
    assert [r.form.get("StartTime>") for r in lookups] == ["2026-03-02", None]
    assert {r.form["To"] for r in lookups} == {ALICE}


def test_call_never_placed_is_not_found(clock, cast, fake_twilio, short_timeout):
    incident = fire([cast.alice])
    ours = page(cast, "voice", key="ours", incident=incident)
    earlier = page(cast, "voice", key="earlier", incident=incident)
    clock.move_to(T0 - timedelta(minutes=10))
    TwilioVoiceTransport().send(earlier)  # before the attempt: not ours
    clock.move_to(T0)
    recorded = page(cast, "voice", key="recorded", incident=incident)
    recorded.provider_id = TwilioVoiceTransport().send(recorded)  # another row's call
    recorded.save()
    fake_twilio.take()
    assert TwilioVoiceTransport().find_sent(ours, T0) is None
    fake_twilio.take_lookups()


def test_call_connect_failure_is_not_maybe_sent(clock, cast, fake_twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    message = page(cast, "voice")
    with refusing_url() as url:
        settings.TWILIO_BASE_URL = url
        with pytest.raises(TransportError) as refused:
            TwilioVoiceTransport().send(message)
    assert (refused.value.maybe_sent, refused.value.permanent) == (False, False)
