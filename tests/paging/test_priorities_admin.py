"""Priorities in the admin: the incident page's select (asking once when the escalation
would move), the incident list's column and filter, priority levels, and a service's
policy per priority."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.models import Incident, PriorityLevel, ServicePriorityPolicy
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import EscalationPolicyFactory, ServiceFactory, policy_with_steps
from tests.paging.test_priorities import sev_levels
from tests.support import engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def lena() -> Client:
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
def service():
    alice = engineer_with_ladder("Alice", "+14155550001")
    return ServiceFactory(name="api", escalation_policy=policy_with_steps([alice]))


def set_priority(client: Client, incident: Incident, **data: str):
    return client.post(f"/admin/paging/incident/{incident.pk}/priority/", data)


def test_the_page_shows_the_priority_and_sets_it_at_once(clock, lena, service) -> None:
    sev_levels()
    incident = fire(service)
    page = lena.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert '<dd id="incident-priority">none</dd>' in page
    assert '<option value="2">P2 (SEV2)</option>' in page
    assert "Set priority</button>" in page
    done = set_priority(lena, incident, priority="2")
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.priority == 2
    line = incident.events.get(kind="priority")
    assert (line.actor, line.via) == (lena.engineer, "admin")  # type: ignore[attr-defined]
    page = lena.get(done["Location"]).content.decode()
    assert "Priority set to P2 (SEV2) by Lena at" in page
    assert '<span class="incident-priority priority-2">P2 (SEV2)</span>' in page
    assert '<option value="2" selected>P2 (SEV2)</option>' in page
    again = lena.get(set_priority(lena, incident, priority="2")["Location"]).content.decode()
    assert "The priority is already P2 (SEV2)." in again


def test_a_move_to_another_policy_asks_once(clock, channel, lena, service) -> None:
    fast = EscalationPolicyFactory(name="api-urgent")
    ServicePriorityPolicy.objects.create(service=service, priority=1, escalation_policy=fast)
    incident = fire(service)
    tick()  # Alice paged
    asked = set_priority(lena, incident, priority="1")
    assert asked.status_code == 200
    text = html.unescape(asked.content.decode())
    assert "P1 incidents of api follow the escalation policy 'api-urgent'" in text
    assert "Its first step pages now; pending pages under the old policy are cancelled." in text
    assert "Yes, set priority" in text
    assert '<input type="hidden" name="priority" value="1"' in text
    assert Incident.objects.get(pk=incident.pk).priority is None  # nothing before the confirm
    done = set_priority(lena, incident, priority="1", confirmed="1")
    assert done.status_code == 302
    incident.refresh_from_db()
    assert (incident.priority, incident.escalation_policy_id) == (1, fast.pk)
    page = html.unescape(lena.get(done["Location"]).content.decode())
    assert "Priority set to P1; escalation moved to 'api-urgent' by Lena" in page


def test_bad_input_is_refused_with_the_reason(clock, lena, service) -> None:
    sev_levels()
    incident = fire(service)
    response = set_priority(lena, incident, priority="5")
    page = lena.get(response["Location"]).content.decode()
    assert "Priority: Select a valid choice. 5 is not one of the available choices." in page
    assert Incident.objects.get(pk=incident.pk).priority is None
    assert lena.get(f"/admin/paging/incident/{incident.pk}/priority/").status_code == 405


def test_a_resolved_incident_can_still_be_graded(clock, lena, service) -> None:
    incident = fire(service)
    Incident.objects.filter(pk=incident.pk).update(status="resolved")
    page = lena.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert "Set priority</button>" in page
    assert set_priority(lena, incident, priority="3").status_code == 302
    assert Incident.objects.get(pk=incident.pk).priority == 3


def test_list_shows_the_level_name_and_filters(clock, lena, service) -> None:
    sev_levels()
    graded, ungraded = fire(service, key="a"), fire(service, key="b")
    Incident.objects.filter(pk=graded.pk).update(priority=1)
    page = lena.get("/admin/paging/incident/").content.decode()
    assert '<td class="field-priority_short">SEV1</td>' in page
    assert '<td class="field-priority_short">—</td>' in page
    only = lena.get("/admin/paging/incident/?priority=1").content.decode()
    assert f"#{graded.pk}<" in only and f"#{ungraded.pk}<" not in only
    none = lena.get("/admin/paging/incident/?priority=none").content.decode()
    assert f"#{ungraded.pk}<" in none and f"#{graded.pk}<" not in none


def test_priority_levels_admin(lena) -> None:
    listing = lena.get("/admin/paging/prioritylevel/").content.decode()
    assert "No priority levels configured: the defaults are in use (P1 ack 5 min" in listing
    response = lena.post(
        "/admin/paging/prioritylevel/add/",
        {"level": "1", "name": "SEV1", "description": "", "ack_within_minutes": "5"},
    )
    assert response.status_code == 302
    assert PriorityLevel.objects.get().name == "SEV1"
    assert AuditEntry.objects.filter(object_type="paging.prioritylevel", action="create").exists()
    taken = lena.post("/admin/paging/prioritylevel/add/", {"level": "2", "name": "sev1"})
    assert "Another priority level has this name." in taken.content.decode()


def test_service_page_sets_policies_per_priority(lena, service) -> None:
    fast = EscalationPolicyFactory(name="api-urgent")
    url = f"/admin/paging/service/{service.pk}/change/"
    page = lena.get(url).content.decode()
    assert "Escalation policy per priority" in page
    response = lena.post(
        url,
        {
            "name": "api",
            "description": "",
            "team": service.team_id,
            "escalation_policy": service.escalation_policy_id,
            "urgency_critical": "high",
            "urgency_error": "high",
            "urgency_warning": "low",
            "urgency_info": "low",
            "ack_timeout_minutes": "",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
            "maintenance_windows-TOTAL_FORMS": "0",
            "maintenance_windows-INITIAL_FORMS": "0",
            "priority_policies-TOTAL_FORMS": "1",
            "priority_policies-INITIAL_FORMS": "0",
            "priority_policies-0-priority": "1",
            "priority_policies-0-escalation_policy": str(fast.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [row] = ServicePriorityPolicy.objects.all()
    assert (row.service, row.priority, row.escalation_policy) == (service, 1, fast)
    entry = AuditEntry.objects.get(object_type="paging.serviceprioritypolicy")
    assert (entry.action, entry.parent) == ("create", f"paging.service:{service.pk}")
