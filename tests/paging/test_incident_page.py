"""The incident page of the admin: act on one incident as the acting admin's engineer,
with a confirmation step, a 409 for an action that no longer applies, and nothing to
edit or delete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import Alert, Incident
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder, fire

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 8, 14, 3, tzinfo=UTC)


@pytest.fixture
def lena() -> Client:
    """A team lead whose Django user is an engineer in Berlin."""
    engineer = EngineerFactory(
        display_name="Lena",
        time_zone="Europe/Berlin",
        user=UserFactory(username="lena", is_staff=True, is_superuser=True),
    )
    client = Client()
    client.force_login(engineer.user)
    client.engineer = engineer  # type: ignore[attr-defined]
    return client


@pytest.fixture
def incident() -> Incident:
    alice = engineer_with_ladder("Alice", "+14155550001")
    with time_machine.travel(T0 - timedelta(minutes=3), tick=False):
        return fire(ServiceFactory(name="api", escalation_policy=policy_with_steps([alice])))


def _act(client: Client, incident: Incident, action: str, **data: str):
    return client.post(f"/admin/paging/incident/{incident.pk}/act/{action}/", data)


def test_acknowledge_asks_then_acts_as_the_admins_engineer(lena: Client, incident) -> None:
    with time_machine.travel(T0, tick=False):
        asked = _act(lena, incident, "acknowledge")
        assert asked.status_code == 200
        assert "Yes, acknowledge" in asked.content.decode()
        incident.refresh_from_db()
        assert incident.status == Incident.Status.TRIGGERED  # nothing done before the confirm

        done = _act(lena, incident, "acknowledge", confirmed="1")
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.acknowledged_by == lena.engineer  # type: ignore[attr-defined]
    assert incident.acknowledged_via == "admin"
    event = incident.events.get(kind="acknowledged")
    assert (event.actor, event.via, event.at) == (lena.engineer, "admin", T0)  # type: ignore[attr-defined]
    page = lena.get(done["Location"]).content.decode()
    # The success message names the person and the time, in their zone, to the second.
    assert "Acknowledged by Lena at Mon 30 Nov 2026, 09:14:03 CET." in page


def test_stale_ack_of_a_resolved_incident_is_409_and_says_so(lena: Client, incident) -> None:
    bob = EngineerFactory(display_name="Bob")
    incident_resolve(incident_id=incident.pk, engineer_id=bob.pk, via="sms")
    response = _act(lena, incident, "acknowledge", confirmed="1")
    assert response.status_code == 409
    text = response.content.decode()
    assert f"Incident #{incident.pk} is already resolved by Bob" in text
    assert "nothing was changed" in text
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_at) == ("resolved", None)


def test_second_ack_is_409_not_a_second_timeline_line(lena: Client, incident) -> None:
    incident_acknowledge(incident_id=incident.pk, via="slack")
    response = _act(lena, incident, "acknowledge", confirmed="1")
    assert response.status_code == 409
    assert "already acknowledged" in response.content.decode()
    assert incident.events.filter(kind="acknowledged").count() == 1


def test_resolve_and_escalate_call_the_services(lena: Client, incident) -> None:
    _act(lena, incident, "escalate", confirmed="1")
    escalated = incident.events.get(kind="escalated")
    assert escalated.actor == lena.engineer  # type: ignore[attr-defined]
    _act(lena, incident, "resolve", confirmed="1")
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by) == ("resolved", lena.engineer)  # type: ignore[attr-defined]
    assert _act(lena, incident, "escalate", confirmed="1").status_code == 409


def test_actions_need_post_and_the_change_permission(incident) -> None:
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/admin/paging/incident/{incident.pk}/change/").status_code == 200
    assert _act(client, incident, "acknowledge", confirmed="1").status_code == 403
    assert client.get(f"/admin/paging/incident/{incident.pk}/act/acknowledge/").status_code == 405
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED


def test_no_save_no_delete_no_edit(lena: Client, incident) -> None:
    page = lena.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    assert lena.post(f"/admin/paging/incident/{incident.pk}/change/", {}).status_code == 405
    assert (
        lena.post(f"/admin/paging/incident/{incident.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Incident.objects.filter(pk=incident.pk).exists()
    changelist = lena.get("/admin/paging/incident/").content.decode()
    assert "delete_selected" not in changelist


def test_page_shows_header_timeline_with_seconds_and_zone(lena: Client, incident) -> None:
    page = lena.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert 'id="incident-status">Triggered<' in page
    assert "high urgency" in page and ">api</a>" in page
    # Triggered at 08:11:03 UTC, shown in Lena's zone with seconds and the zone named.
    assert "Mon 30 Nov 2026, 09:11:03 CET" in page
    assert 'title="Europe/Berlin"' in page
    assert "Times in Europe/Berlin" in page
    timeline = page[page.index('id="timeline"') :]
    assert "Incident triggered" in timeline
    for label in ("Acknowledge", "Resolve", "Escalate now"):
        assert f">{label}</button>" in page
    assert page.index('id="timeline"') < page.index('id="alerts-title"')


def test_alert_labels_are_tables_and_only_web_links_are_clickable(lena: Client, incident) -> None:
    Alert.objects.filter(incident=incident).update(
        details={
            "labels": {"alertname": "KubeNodeNotReady", "node": "worker-3"},
            "annotations": {
                "runbook_url": "https://runbooks.example.com/node",
                "evil": "javascript:alert(1)",
            },
            "fingerprint": "5a1e",
        },
        links=[
            {"href": "http://prometheus.example.com/graph", "text": "Graph"},
            {"href": "javascript:alert(2)", "text": "Trap"},
        ],
    )
    page = lena.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert re.search(
        r"<caption>Labels</caption>.*<th scope=\"row\">node</th><td>worker-3</td>", page, re.S
    )
    assert '<a href="https://runbooks.example.com/node" rel="noopener noreferrer">' in page
    assert (
        '<a href="http://prometheus.example.com/graph" rel="noopener noreferrer">Graph</a>' in page
    )
    assert 'href="javascript:' not in page
    assert "<td>javascript:alert(1)</td>" in page


def test_list_puts_open_incidents_first_and_filters(lena: Client) -> None:
    service = ServiceFactory(name="billing")
    ServiceFactory(name="search")
    with time_machine.travel(T0 - timedelta(hours=2), tick=False):
        old_open = fire(service, key="old")
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        newer_closed = fire(service, key="new")
    incident_resolve(incident_id=newer_closed.pk)
    page = lena.get("/admin/paging/incident/").content.decode()
    assert page.index(f">#{old_open.pk}<") < page.index(f">#{newer_closed.pk}<")
    # In Lena's zone, named, as on the incident page (06:14 UTC is 07:14 in Berlin).
    assert "Triggered (Europe/Berlin), age" in page
    assert "30 Nov 07:14 CET · " in page and "06:14" not in page
    for flt in ("status__exact", "service__id__exact", "urgency"):
        assert f"?{flt}=" in page
    only_open = lena.get("/admin/paging/incident/", {"status__exact": "triggered"}).content.decode()
    assert f">#{newer_closed.pk}<" not in only_open
