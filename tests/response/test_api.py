"""The incident response API: roles, status updates (who got what notice), the public
flag and action items; timeline lines and audit entries; 400s naming the field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.models import IncidentEvent, Message
from paging.response.models import ActionItem, IncidentRole, StatusUpdate
from tests.factories import ContactMethodFactory, NotificationRuleFactory
from tests.response.conftest import PRIYA_EMAIL, PRIYA_PHONE, STAKE_CHANNEL, Cast

pytestmark = pytest.mark.django_db


def _lines(incident_id: int, kind: str) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident_id=incident_id, kind=kind))


def test_assign_commander_and_comms_lead(api, cast: Cast, channel) -> None:
    tick()  # Alice's page
    channel.sent.clear()
    url = f"/api/v1/incidents/{cast.incident.pk}/roles/"
    answer = api.post(url, {"role": "commander", "engineer": cast.alice.pk}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["engineer_name"] == "Alice" and answer.json()["changed"] is True
    api.post(url, {"role": "communications", "engineer": cast.priya.pk}, format="json")
    again = api.post(url, {"role": "commander", "engineer": cast.alice.pk}, format="json")
    assert again.json()["changed"] is False

    roles = dict(
        IncidentRole.objects.filter(incident=cast.incident).values_list("role", "engineer_id")
    )
    assert roles == {"commander": cast.alice.pk, "communications": cast.priya.pk}
    lines = _lines(cast.incident.pk, IncidentEvent.Kind.ROLE)
    assert [(e.text, e.actor_id, e.via) for e in lines] == [
        ("Incident commander: Alice", cast.lena.pk, "api"),
        ("Communications lead: Priya", cast.lena.pk, "api"),
    ]
    audit = AuditEntry.objects.filter(action="role").order_by("seq")
    assert [e.changes for e in audit] == [
        {"commander": [None, "Alice"]},
        {"communications": [None, "Priya"]},
    ]
    # The new holders are told once, at the start of their low-urgency ladder (Alice has
    # no low-urgency rule: her first pageable method, SMS; Priya: her low-urgency e-mail).
    tick()
    told = sorted((s.kind, s.destination, s.subject) for s in channel.sent)
    assert told == [
        ("email", PRIYA_EMAIL, f"You are communications lead of #{cast.incident.pk}"),
        ("sms", "+14155550001", f"You are incident commander of #{cast.incident.pk}"),
    ]

    # Handing over, and clearing.
    api.post(url, {"role": "commander", "engineer": cast.priya.pk}, format="json")
    api.post(url, {"role": "communications", "engineer": None}, format="json")
    texts = [e.text for e in _lines(cast.incident.pk, IncidentEvent.Kind.ROLE)][2:]
    assert texts == [
        "Incident commander: Priya (was Alice)",
        "Communications lead: nobody (was Priya)",
    ]
    assert api.get(url).json()[0]["engineer_name"] == "Priya"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "captain", "engineer": 1}, "role"),
        ({"engineer": 1}, "role"),
        ({"role": "commander"}, "engineer"),
        ({"role": "commander", "engineer": 999999}, "engineer"),
        ({"role": "commander", "engineer": "ada"}, "engineer"),
    ],
)
def test_bad_role_bodies_are_400_naming_the_field(api, cast: Cast, body, field) -> None:
    answer = api.post(f"/api/v1/incidents/{cast.incident.pk}/roles/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not IncidentRole.objects.exists()


def test_status_update_notifies_the_services_stakeholders(api, cast: Cast, channel) -> None:
    tick()  # Alice's page
    channel.sent.clear()
    url = f"/api/v1/incidents/{cast.incident.pk}/status-updates/"
    answer = api.post(
        url, {"state": "identified", "text": "Disk full on the primary"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["public"] is False
    assert body["notified"] == {
        "people": ["Priya"],
        "slack_channels": [STAKE_CHANNEL],
        "unreachable": ["Sam"],
    }
    tick()
    sent = sorted((s.kind, s.destination) for s in channel.sent)
    # Priya by e-mail (her low-urgency ladder), not SMS; the Slack channel; nobody else.
    assert sent == [("email", PRIYA_EMAIL), ("slack_channel", STAKE_CHANNEL)]
    email = channel.to(PRIYA_EMAIL)[0]
    assert email.subject.startswith(f"[Identified] #{cast.incident.pk}")
    assert "Identified: Disk full on the primary" in email.body
    assert all(s.incident_id is None for s in channel.sent)  # notices, not pages
    assert set(
        Message.objects.filter(destination__in=[PRIYA_EMAIL, STAKE_CHANNEL]).values_list(
            "purpose", flat=True
        )
    ) == {Message.Purpose.NOTICE}

    line = _lines(cast.incident.pk, IncidentEvent.Kind.STATUS_UPDATE)[0]
    assert line.text == (
        "Identified: Disk full on the primary — told Priya, Slack C0STAKEHOLD; not reachable: Sam"
    )
    assert line.actor_id == cast.lena.pk
    assert AuditEntry.objects.filter(action="status_update").count() == 1
    # Acknowledging cancels pages, not the notices already queued.
    assert api.get(url).json()[0]["state"] == "identified"


def test_a_status_update_is_sent_once(api, cast: Cast, channel) -> None:
    url = f"/api/v1/incidents/{cast.incident.pk}/status-updates/"
    api.post(url, {"state": "investigating", "text": "Looking"}, format="json")
    tick()
    tick()
    assert len(channel.to(PRIYA_EMAIL)) == 1
    assert len(channel.to(STAKE_CHANNEL)) == 1


def test_a_stakeholder_gets_every_rule_at_the_start_of_the_low_ladder(
    api, cast: Cast, channel, clock
) -> None:
    # A status update is a notice (paging.notices.notice_send): every low-urgency rule at
    # the ladder's first delay, at once; the later rungs never.
    sms = cast.priya.contact_methods.get(kind="sms")
    NotificationRuleFactory(engineer=cast.priya, contact_method=sms, delay_minutes=0, urgency="low")
    late = ContactMethodFactory(engineer=cast.priya, kind="email", value="late@stake.example")
    NotificationRuleFactory(
        engineer=cast.priya, contact_method=late, delay_minutes=5, urgency="low"
    )
    url = f"/api/v1/incidents/{cast.incident.pk}/status-updates/"
    api.post(url, {"state": "monitoring", "text": "Fix deployed"}, format="json")
    tick()
    clock.shift(timedelta(minutes=10))
    tick()
    priya = {PRIYA_PHONE, PRIYA_EMAIL, "late@stake.example"}
    told = sorted((s.kind, s.destination) for s in channel.sent if s.destination in priya)
    assert told == [("email", PRIYA_EMAIL), ("sms", PRIYA_PHONE)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "fixed", "text": "x"}, "state"),
        ({"state": "identified"}, "text"),
        ({"state": "identified", "text": "   "}, "text"),
        ({"state": "identified", "text": "x" * 2001}, "text"),
    ],
)
def test_bad_status_updates_are_400(api, cast: Cast, body, field) -> None:
    answer = api.post(f"/api/v1/incidents/{cast.incident.pk}/status-updates/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not StatusUpdate.objects.exists()
    assert not Message.objects.filter(purpose=Message.Purpose.NOTICE).exists()


def test_unknown_incident_is_404(api, cast: Cast) -> None:
    answer = api.post(
        "/api/v1/incidents/999999/status-updates/", {"state": "identified", "text": "x"}
    )
    assert answer.status_code == 404


def test_mark_public_then_updates_are_public(api, cast: Cast) -> None:
    updates = f"/api/v1/incidents/{cast.incident.pk}/status-updates/"
    public = f"/api/v1/incidents/{cast.incident.pk}/public/"
    api.post(updates, {"state": "investigating", "text": "internal first look"}, format="json")
    assert api.get(public).json() == {"public": False}
    assert api.post(public, {"public_title": ""}, format="json").status_code == 400
    answer = api.post(public, {"public_title": "Payments are failing"}, format="json")
    assert answer.status_code == 200 and answer.json()["changed"] is True
    api.post(updates, {"state": "identified", "text": "We found the cause"}, format="json")
    assert list(StatusUpdate.objects.order_by("id").values_list("public", flat=True)) == [
        False,
        True,
    ]
    line = _lines(cast.incident.pk, IncidentEvent.Kind.PUBLISHED)[0]
    assert line.text == "marked public as 'Payments are failing'"
    entry = AuditEntry.objects.get(action="publish")
    assert entry.changes == {"public_title": [None, "Payments are failing"]}


def test_action_items_tracked_with_overdue_filter(api, cast: Cast, clock) -> None:
    url = f"/api/v1/incidents/{cast.incident.pk}/action-items/"
    today = date(2026, 3, 2)
    first = api.post(
        url,
        {"title": "Alert on disk at 80%", "owner": cast.alice.pk, "due_date": "2026-03-09"},
        format="json",
    ).json()
    api.post(url, {"title": "Write the runbook"}, format="json")
    assert api.post(url, {"title": "x", "due_date": "soon"}, format="json").status_code == 400
    assert api.post(url, {"title": "x", "owner": 999999}, format="json").status_code == 400
    assert ActionItem.objects.count() == 2

    clock.move_to(today + timedelta(days=10))
    overdue = api.get("/api/v1/action-items/?overdue=true").json()
    assert [i["title"] for i in overdue["results"]] == ["Alert on disk at 80%"]
    assert overdue["results"][0]["overdue"] is True

    done = api.patch(f"/api/v1/action-items/{first['id']}/", {"done": True}, format="json")
    assert done.status_code == 200 and done.json()["done"] is True
    assert api.get("/api/v1/action-items/?overdue=true").json()["results"] == []
    assert [i["title"] for i in api.get("/api/v1/action-items/?done=false").json()["results"]] == [
        "Write the runbook"
    ]
    texts = [e.text for e in _lines(cast.incident.pk, IncidentEvent.Kind.ACTION_ITEM)]
    assert texts == [
        "action item added: Alert on disk at 80% (owner Alice, due 2026-03-09)",
        "action item added: Write the runbook",
        "action item done: Alert on disk at 80%",
    ]
    assert api.get("/api/v1/action-items/?overdue=maybe").status_code == 400


def test_anonymous_callers_are_refused(cast: Cast) -> None:
    from rest_framework.test import APIClient

    answer = APIClient().post(
        f"/api/v1/incidents/{cast.incident.pk}/roles/",
        {"role": "commander", "engineer": cast.alice.pk},
        format="json",
    )
    assert answer.status_code in (401, 403)
    assert not IncidentRole.objects.exists()
