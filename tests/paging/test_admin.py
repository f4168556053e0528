"""Admin pages render, show the inbound URL, and actions call the services."""

from __future__ import annotations

import pytest
from django.test import Client

from paging.models import Incident
from tests.paging.factories import (
    EscalationStepFactory,
    EscalationTargetFactory,
    IntegrationFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.support import engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


def test_pages_render_with_inbound_url(admin_client_: Client) -> None:
    integration = IntegrationFactory(kind="alertmanager")
    pd = IntegrationFactory(kind="pagerduty", service=integration.service)
    step = EscalationStepFactory()
    EscalationTargetFactory(step=step)
    incident = fire(integration.service)
    for url in [
        f"/admin/paging/integration/{integration.pk}/change/",
        f"/admin/paging/service/{integration.service_id}/change/",
        f"/admin/paging/escalationpolicy/{step.policy_id}/change/",
        f"/admin/paging/escalationstep/{step.pk}/change/",
        f"/admin/paging/incident/{incident.pk}/change/",
        "/admin/paging/incident/",
        "/admin/paging/message/",
        "/admin/paging/integration/",
    ]:
        response = admin_client_.get(url)
        assert response.status_code == 200, url
    page = admin_client_.get(f"/admin/paging/service/{integration.service_id}/change/")
    assert integration.inbound_url in page.content.decode()
    assert pd.token in page.content.decode()
    page = admin_client_.get(f"/admin/paging/incident/{incident.pk}/change/")
    assert "Alert received" in page.content.decode()


def test_admin_list_actions_are_attributed_to_the_username(admin_client_: Client) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    response = admin_client_.post(
        "/admin/paging/incident/",
        {"action": "acknowledge", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert "1 incident(s) acknowledged." in response.content.decode()
    incident.refresh_from_db()
    # This admin user has no engineer: the username stands in on the record.
    assert (incident.status, incident.acknowledged_via) == ("acknowledged", "admin:root")
    admin_client_.post(
        "/admin/paging/incident/", {"action": "resolve", "_selected_action": [incident.pk]}
    )
    assert Incident.objects.get().status == "resolved"


def test_admin_note_and_reassign_forms_call_the_services(admin_client_: Client) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    page = admin_client_.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert f"/admin/paging/incident/{incident.pk}/note/" in page
    assert f"/admin/paging/incident/{incident.pk}/reassign/" in page

    admin_client_.post(f"/admin/paging/incident/{incident.pk}/note/", {"text": "DB failover"})
    note = incident.events.get(kind="note")
    assert (note.text, note.via) == ("DB failover", "admin:root")

    url = f"/admin/paging/incident/{incident.pk}/reassign/"
    confirm = admin_client_.post(url, {"engineers": [bob.pk]})
    assert confirm.status_code == 200
    assert "Reassign incident" in confirm.content.decode()
    assert not incident.assigned_to.exists()  # asked first, nothing done yet
    admin_client_.post(url, {"engineers": [bob.pk], "confirmed": "1"})
    incident.refresh_from_db()
    assert list(incident.assigned_to.all()) == [bob]
    assert incident.events.filter(kind="reassigned", via="admin:root").count() == 1


def test_admin_note_and_reassign_refuse_bad_input(admin_client_: Client) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    events = incident.events.count()

    response = admin_client_.post(
        f"/admin/paging/incident/{incident.pk}/note/", {"text": ""}, follow=True
    )
    assert "Text: This field is required." in response.content.decode()
    response = admin_client_.post(
        f"/admin/paging/incident/{incident.pk}/reassign/", {}, follow=True
    )
    assert "Choose engineers or an escalation policy" in response.content.decode()
    response = admin_client_.post(
        f"/admin/paging/incident/{incident.pk}/reassign/", {"engineers": [999999]}, follow=True
    )
    assert "Engineers: Select a valid choice." in response.content.decode()
    assert incident.events.count() == events
    assert admin_client_.get(f"/admin/paging/incident/{incident.pk}/note/").status_code == 405
