"""The paging REST API: config CRUD, incident list filters, detail timeline, actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from paging.models import EscalationPolicy, Incident, Message
from tests.factories import EngineerFactory, TeamFactory
from tests.paging.factories import (
    IncidentFactory,
    IntegrationFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.support import fire

pytestmark = pytest.mark.django_db


def test_policy_create_with_steps_and_targets(staff: APIClient, alice) -> None:
    team = TeamFactory()
    body = {
        "name": "primary",
        "team": team.pk,
        "repeat": 2,
        "steps": [
            {"delay_minutes": 10, "targets": [{"kind": "engineer", "engineer": alice.pk}]},
            {"delay_minutes": 5, "targets": [{"kind": "team_round_robin", "team": team.pk}]},
        ],
    }
    response = staff.post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [step["delay_minutes"] for step in data["steps"]] == [10, 5]
    assert data["steps"][1]["targets"][0] == {
        "kind": "team_round_robin",
        "engineer": None,
        "team": team.pk,
        "schedule": None,
        "address": "",
    }
    policy = EscalationPolicy.objects.get()
    response = staff.patch(
        f"/api/v1/escalation-policies/{policy.pk}/",
        {"steps": [{"delay_minutes": 1, "targets": []}]},
        format="json",
    )
    assert response.status_code == 200
    assert policy.steps.count() == 1


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"kind": "engineer"}, "engineer"),
        ({"kind": "engineer", "engineer": 99999}, "engineer"),
        ({"kind": "schedule", "schedule": 99999}, "schedule"),
        ({"kind": "team_all", "team": 1, "engineer": 1}, "engineer"),
        ({"kind": "pager"}, "kind"),
    ],
)
def test_policy_bad_targets_are_400_naming_the_field(staff, target, field) -> None:
    body = {"name": "p", "steps": [{"delay_minutes": 1, "targets": [target]}]}
    response = staff.post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["steps"]["0"]["targets"]["0"]


@pytest.mark.parametrize(
    ("step", "path"),
    [
        ({"delay_minutes": 1, "targets": [{"engineer": "ALICE"}]}, ("targets", "0", "kind")),
        ({"targets": [{"kind": "engineer", "engineer": "ALICE"}]}, ("delay_minutes",)),
        ({"delay_minutes": 1}, ("targets",)),
    ],
)
def test_policy_patch_steps_still_need_every_field(staff, alice, step, path) -> None:
    # PATCH made nested fields optional: a target without kind was a KeyError (500).
    created = staff.post("/api/v1/escalation-policies/", {"name": "p"}, format="json")
    url = f"/api/v1/escalation-policies/{created.json()['id']}/"
    if "targets" in step:
        step = {**step, "targets": [{**t, "engineer": alice.pk} for t in step["targets"]]}
    response = staff.patch(url, {"steps": [step]}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["steps"]["0"]
    for key in path:
        errors = errors[key]
    assert errors == ["This field is required."]


def test_non_staff_can_read_but_not_write_config(as_alice: APIClient) -> None:
    ServiceFactory()
    assert as_alice.get("/api/v1/services/").status_code == 200
    assert as_alice.post("/api/v1/services/", {"name": "x"}).status_code == 403
    assert as_alice.get("/api/v1/integrations/").status_code == 403


def test_service_urgency_rules_are_validated(staff: APIClient) -> None:
    team = TeamFactory()
    response = staff.post(
        "/api/v1/services/",
        {"name": "db", "team": team.pk, "urgency_rules": {"critical": "urgent"}},
        format="json",
    )
    assert response.status_code == 400
    assert "urgency_rules" in response.json()


@pytest.mark.parametrize("url", ["/api/v1/services/", "/api/v1/maintenance-windows/"])
def test_json_number_overflowing_a_float_is_400_not_500(staff: APIClient, url: str) -> None:
    # 1e999 decoded to inf, which a related-id field could not turn into an int (a 500).
    body = b'{"name": "db", "team": 1e999, "service": -1e999}'
    response = staff.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "1e999 is out of range" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"engineer_ids": [2**64]}, {"engineer_ids": [2**63]}, {"policy_id": 2**64}]
)
def test_reassign_to_an_id_past_64_bits_is_400_not_500(staff: APIClient, body: dict) -> None:
    # engineer_ids reached a pk__in lookup unbounded: SQLite's driver overflowed (a 500).
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([EngineerFactory()])))
    response = staff.post(f"/api/v1/incidents/{incident.pk}/reassign/", body, format="json")
    assert response.status_code == 400, response.content
    assert "less than or equal to 9223372036854775807" in str(response.json()[next(iter(body))])


def test_integration_shows_inbound_url(staff: APIClient) -> None:
    service = ServiceFactory()
    response = staff.post(
        "/api/v1/integrations/", {"service": service.pk, "kind": "alertmanager"}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    assert len(data["token"]) == 32
    assert data["inbound_url"] == (
        f"https://oncall.example.test/integrations/alertmanager/{data['token']}/"
    )


def test_incident_list_filters(as_alice: APIClient) -> None:
    now = timezone.now()
    a = IncidentFactory(urgency="high")
    b = IncidentFactory(urgency="low", status="acknowledged")
    c = IncidentFactory(urgency="low", status="resolved", created_at=now - timedelta(days=3))

    def ids(query: str) -> list[int]:
        response = as_alice.get(f"/api/v1/incidents/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids("") == sorted([a.pk, b.pk, c.pk])
    assert ids("status=triggered,acknowledged") == sorted([a.pk, b.pk])
    assert ids("urgency=low") == sorted([b.pk, c.pk])
    assert ids(f"service={a.service_id}") == [a.pk]
    assert ids(f"team={b.service.team_id}") == [b.pk]
    after = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={after}") == sorted([a.pk, b.pk])
    assert ids(f"created_before={after}") == [c.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("service=x", "service"),
        ("created_after=soon", "created_after"),
        # Past 64 bits the id overflowed the database driver (a 500).
        ("team=99999999999999999999", "team"),
        ("service=99999999999999999999", "service"),
    ],
)
def test_incident_list_bad_filters_are_400(as_alice, query, field) -> None:
    response = as_alice.get(f"/api/v1/incidents/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_ack_via_api_records_who_and_cancels_pages(as_alice: APIClient, alice) -> None:
    from paging.engine import tick

    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    response = as_alice.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert response.status_code == 200
    data = response.json()
    assert data["changed"] is True
    assert (data["status"], data["acknowledged_by"], data["acknowledged_via"]) == (
        "acknowledged",
        alice.pk,
        "api",
    )
    assert Message.objects.filter(status="cancelled").count() == 1  # the +5 min call
    again = as_alice.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").json()
    assert again["changed"] is False and again["acknowledged_by"] == alice.pk
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds[:4] == ["triggered", "alert_received", "policy_version", "escalation_step"]
    assert kinds[-1] == "acknowledged"


def test_other_actions(as_alice: APIClient, alice) -> None:
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    other = EngineerFactory()
    url = f"/api/v1/incidents/{incident.pk}"
    note = as_alice.post(f"{url}/notes/", {"text": "on it"}, format="json")
    assert note.status_code == 201 and note.json()["actor"] == alice.pk
    assert as_alice.post(f"{url}/notes/", {}, format="json").status_code == 400
    bad = as_alice.post(f"{url}/reassign/", {"engineer_ids": [999999]}, format="json")
    assert bad.status_code == 400 and "engineer_ids" in bad.json()
    ok = as_alice.post(f"{url}/reassign/", {"engineer_ids": [other.pk]}, format="json")
    assert ok.status_code == 200 and ok.json()["assigned_to"] == [other.pk]
    assert as_alice.post(f"{url}/escalate/").status_code == 200
    assert as_alice.post(f"{url}/resolve/").json()["status"] == "resolved"
    conflict = as_alice.post(f"{url}/reassign/", {"engineer_ids": [other.pk]}, format="json")
    assert conflict.status_code == 409
    assert Incident.objects.get().resolved_by_id == alice.pk


def test_anonymous_is_401() -> None:
    IntegrationFactory()
    assert APIClient().get("/api/v1/incidents/").status_code == 401


def test_incident_list_and_detail_query_counts_do_not_grow(
    as_alice: APIClient, alice, django_assert_max_num_queries
) -> None:
    from paging.engine import tick

    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    for n in range(3):
        fire(service, key=f"k{n}")
    tick()
    with django_assert_max_num_queries(6) as few:
        as_alice.get("/api/v1/incidents/")
    for n in range(3, 12):
        fire(service, key=f"k{n}")
    tick()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(as_alice.get("/api/v1/incidents/").json()["results"]) == 12
    incident = Incident.objects.first()
    with django_assert_max_num_queries(10):
        assert as_alice.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200


def test_maintenance_window_api(staff: APIClient) -> None:
    service = ServiceFactory()
    now = timezone.now()
    bad = staff.post(
        "/api/v1/maintenance-windows/",
        {"service": service.pk, "starts_at": now.isoformat(), "ends_at": now.isoformat()},
        format="json",
    )
    assert bad.status_code == 400 and "ends_at" in bad.json()
    good = staff.post(
        "/api/v1/maintenance-windows/",
        {
            "service": service.pk,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "reason": "db upgrade",
        },
        format="json",
    )
    assert good.status_code == 201
    assert service.in_maintenance(now)
