"""Signed acknowledge/resolve links: GET shows, only a CSRF-protected POST acts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from paging.channels.links.tokens import link_token
from paging.incident_actions import incident_acknowledge
from paging.models import Incident, IncidentEvent, Message
from tests.support import T0, engineer_with, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]


@pytest.fixture
def carol(db):
    return engineer_with("Carol", "+15551230003", [("email", 0), ("sms", 5)])


@pytest.fixture
def incident(clock, carol) -> Incident:
    return fire([carol])


def url(incident: Incident, engineer, action: str = "acknowledge") -> str:
    token = link_token(incident_id=incident.pk, engineer_id=engineer.pk, action=action)
    return f"/l/{token}/"


def csrf_post(client: Client, path: str):
    """GET the page like a browser, then POST its form with the CSRF token."""
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    return client.post(path, {"csrfmiddlewaretoken": token})


def test_get_shows_the_incident_and_changes_nothing(client, incident, carol) -> None:
    response = client.get(url(incident, carol))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Incident #{incident.pk}" in html and "DB down" in html and "payments" in html
    assert '<form method="post">' in html and "Acknowledge</button>" in html
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_post_acknowledges_as_the_linked_engineer(incident, carol) -> None:
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(client, url(incident, carol))
    assert response.status_code == 200
    assert f"Acknowledged #{incident.pk} DB down." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert (incident.acknowledged_by_id, incident.acknowledged_via) == (carol.pk, "link")


def test_post_without_csrf_token_is_refused(incident, carol) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(url(incident, carol)).status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_resolve_link(client, incident, carol) -> None:
    response = csrf_post(client, url(incident, carol, "resolve"))
    assert f"Resolved #{incident.pk}" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by_id, incident.resolved_via) == (
        "resolved",
        carol.pk,
        "link",
    )


def test_second_ack_reports_who_was_first(client, incident, carol, cast) -> None:
    incident_acknowledge(incident_id=incident.pk, engineer_id=cast.bob.pk, via="sms")
    response = csrf_post(client, url(incident, carol))
    html = response.content.decode()
    assert "was already acknowledged by Bob at 03:00 UTC (via sms)" in html
    incident.refresh_from_db()
    assert incident.acknowledged_by_id == cast.bob.pk
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature altered
        lambda t: "9" + t,  # incident id altered
        lambda t: t.replace("-a.", "-r.", 1),  # action altered
        lambda t: t.split(".")[0],  # signature cut off
        lambda t: "x" * 3000,
        lambda t: "%00%ff",
        lambda t: "1-1-a.abc.def",
    ],
)
def test_tampered_link_is_a_clear_400(client, incident, carol, mangle) -> None:
    token = link_token(incident_id=incident.pk, engineer_id=carol.pk, action="acknowledge")
    path = f"/l/{mangle(token)}/"
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_expired_link_is_a_clear_410(client, clock, incident, carol, settings) -> None:
    path = url(incident, carol)
    clock.shift(timedelta(hours=24, seconds=1))
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    settings.ACK_LINK_MAX_AGE_SECONDS = 3 * 86400  # configurable
    assert client.get(path).status_code == 200


def test_link_for_a_deleted_engineer_or_incident(client, incident, carol) -> None:
    path = url(incident, carol)
    other = url(incident, carol, "resolve")
    carol.user.delete()
    assert client.get(path).status_code == 410
    assert client.post(other).status_code == 410
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_other_methods_are_405(client, incident, carol) -> None:
    assert client.put(url(incident, carol)).status_code == 405


def test_email_link_to_ack_stops_the_paging(clock, incident, carol, fake_smtp, fake_twilio):
    """Page -> e-mail -> open link -> press Acknowledge -> nothing more is sent."""
    tick_at(clock, T0)
    (mail,) = fake_smtp.take()
    ack = re.search(r"Acknowledge: https://oncall\.example\.test(/l/\S+/)", mail.part("text/plain"))
    client = Client(enforce_csrf_checks=True)
    csrf_post(client, ack[1])
    for minutes in (5, 10, 15, 30, 60):
        tick_at(clock, T0 + timedelta(minutes=minutes))
    assert fake_twilio.take() == [] and fake_smtp.take() == []
    sms = Message.objects.get(incident=incident, kind="sms")
    assert sms.status == Message.Status.CANCELLED


def test_sms_link_to_ack(client, clock, incident, carol, fake_twilio, settings) -> None:
    tick_at(clock, T0)  # the e-mail (console here)
    tick_at(clock, T0 + timedelta(minutes=5))  # the SMS
    body = fake_twilio.take_one().form["Body"]
    path = re.search(r"https://oncall\.example\.test(/l/\S+/)", body)[1]
    csrf_post(client, path)
    incident.refresh_from_db()
    assert incident.acknowledged_by_id == carol.pk
