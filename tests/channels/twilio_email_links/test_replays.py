"""A captured, validly signed Twilio request or signed link used again later changes
nothing: SMS replies (MessageSid once), keypresses (CallSid once, bound to the call's
incident), status callbacks (bound to the message's own SID), signed links (bound to one
incident, conditional transitions)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from paging.channels.links.tokens import link_token
from paging.incident_actions import incident_resolve
from paging.models import Incident, IncidentEvent, Message
from tests.channels.twilio_email_links.conftest import twilio_post
from tests.support import T0, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]

ALICE_PHONE = "+15551230001"


def sms(client: Client, body: str, sid: str):
    params = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": ALICE_PHONE,
        "To": "+15559870000",
        "Body": body,
        "NumMedia": "0",
    }
    return twilio_post(client, "/twilio/sms/", params)


def snapshot() -> tuple[list[tuple[int, str]], int]:
    incidents = list(Incident.objects.order_by("pk").values_list("pk", "status"))
    return incidents, IncidentEvent.objects.count()


@pytest.fixture
def paged(clock, cast, fake_twilio) -> Incident:
    incident = fire([cast.alice])
    tick_at(clock, T0)
    fake_twilio.take_one()
    return incident


def test_captured_sms_ack_replayed_after_a_new_incident_changes_nothing(
    client, clock, cast, paged, fake_twilio
) -> None:
    sid = "SM" + "a" * 32
    assert "Acknowledged" in sms(client, "ACK", sid).content.decode()
    incident_resolve(incident_id=paged.pk, via="api")
    tick_at(clock, T0 + timedelta(minutes=30))
    second = fire([cast.alice], key="k2")
    tick_at(clock, T0 + timedelta(minutes=31))
    fake_twilio.take_one()
    before = snapshot()
    replay = sms(client, "ACK", sid)
    assert replay.status_code == 200 and "<Message>" not in replay.content.decode()
    assert snapshot() == before
    assert Incident.objects.get(pk=second.pk).status == "triggered"


def test_captured_keypress_replayed_later_changes_nothing(client, clock, paged, fake_twilio):
    tick_at(clock, T0 + timedelta(minutes=5))
    fake_twilio.take_one()
    call = Message.objects.get(incident=paged, kind="voice")
    path = f"/twilio/voice/{call.pk}/gather/"
    params = {"CallSid": call.provider_id, "From": "+15559870000", "Digits": "1"}
    twilio_post(client, path, params)
    assert Incident.objects.get(pk=paged.pk).status == "acknowledged"
    incident_resolve(incident_id=paged.pk, via="api")
    before = snapshot()
    clock.shift(timedelta(hours=2))
    twilio_post(client, path, params)
    assert snapshot() == before


def test_captured_status_callback_replayed_later_changes_nothing(client, clock, paged) -> None:
    message = Message.objects.get(incident=paged, kind="sms")
    fields = {"MessageSid": message.provider_id, "MessageStatus": "undelivered"}
    delivered = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    twilio_post(client, f"/twilio/status/{message.pk}/", delivered)
    before = snapshot()
    clock.shift(timedelta(hours=1))
    twilio_post(client, f"/twilio/status/{message.pk}/", delivered)
    twilio_post(client, f"/twilio/status/{message.pk}/", fields)
    assert snapshot() == before
    assert Message.objects.get(pk=message.pk).status == Message.Status.DELIVERED


def test_signed_link_used_again_later_changes_nothing(clock, cast, paged) -> None:
    path = "/l/{}/".format(
        link_token(incident_id=paged.pk, engineer_id=cast.alice.pk, action="acknowledge")
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    client.post(path, {"csrfmiddlewaretoken": token})
    assert Incident.objects.get(pk=paged.pk).status == "acknowledged"
    incident_resolve(incident_id=paged.pk, via="api")
    second = fire([cast.alice], key="k2")
    before = snapshot()
    clock.shift(timedelta(hours=1))
    response = client.post(path, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert snapshot() == before
    assert Incident.objects.get(pk=second.pk).status == "triggered"
