"""Priorities through the REST API: the incident action, levels, a service's policy per
priority, the incident list filter; bad priorities are a 400 naming the field."""

from __future__ import annotations

import pytest

from oncall.audit.models import AuditEntry
from paging.models import Incident, PriorityLevel, ServicePriorityPolicy
from tests.paging.factories import EscalationPolicyFactory, ServiceFactory, policy_with_steps
from tests.paging.test_priorities import sev_levels
from tests.support import fire

pytestmark = pytest.mark.django_db


def test_an_engineer_sets_and_clears_the_priority(clock, as_alice, alice) -> None:
    sev_levels()
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    url = f"/api/v1/incidents/{incident.pk}/priority/"
    response = as_alice.post(url, {"priority": "sev2"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["priority"], data["priority_name"], data["changed"]) == (2, "SEV2", True)
    assert data["escalation_policy_moved"] is False
    assert data["timeline"][-1]["kind"] == "priority"
    assert data["timeline"][-1]["actor_name"] == "Alice"
    assert as_alice.post(url, {"priority": 2}, format="json").json()["changed"] is False
    cleared = as_alice.post(url, {"priority": None}, format="json").json()
    assert (cleared["priority"], cleared["priority_name"]) == (None, None)
    assert AuditEntry.objects.filter(action="priority").count() == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"priority": "P5"}, "P5 is not a priority in use here"),
        ({"priority": "urgent"}, "'urgent' is not a priority"),
        ({"priority": 0}, "0 is not a priority"),
        ({"priority": ["P1"]}, "must be a string or a whole number"),
        ({}, "This field is required."),
    ],
)
def test_a_bad_priority_is_a_400_naming_the_field(clock, as_alice, body, reason) -> None:
    sev_levels()
    incident = fire(ServiceFactory())
    response = as_alice.post(f"/api/v1/incidents/{incident.pk}/priority/", body, format="json")
    assert response.status_code == 400
    [message] = response.json()["priority"]
    assert message.startswith(reason)
    assert Incident.objects.get(pk=incident.pk).priority is None


def test_the_answer_says_when_the_policy_moved(clock, as_alice, alice) -> None:
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    fast = policy_with_steps([alice], delay_minutes=5)
    ServicePriorityPolicy.objects.create(service=service, priority=1, escalation_policy=fast)
    incident = fire(service)
    data = as_alice.post(
        f"/api/v1/incidents/{incident.pk}/priority/", {"priority": "P1"}, format="json"
    ).json()
    assert (data["escalation_policy_moved"], data["escalation_policy"]) == (True, fast.pk)


def test_incident_list_filters_by_priority(clock, as_alice) -> None:
    service = ServiceFactory()
    p1, p3, none = fire(service, key="a"), fire(service, key="b"), fire(service, key="c")
    Incident.objects.filter(pk=p1.pk).update(priority=1)
    Incident.objects.filter(pk=p3.pk).update(priority=3)

    def ids(query: str) -> list[int]:
        response = as_alice.get(f"/api/v1/incidents/?priority={query}")
        assert response.status_code == 200, response.json()
        return sorted(i["id"] for i in response.json()["results"])

    assert ids("P1") == [p1.pk]
    assert ids("p1,3") == sorted([p1.pk, p3.pk])
    assert ids("none") == [none.pk]
    response = as_alice.get("/api/v1/incidents/?priority=P9")
    assert response.status_code == 400
    assert "priority" in response.json()


def test_levels_list_shows_the_defaults_until_configured(staff, as_alice) -> None:
    data = as_alice.get("/api/v1/priority-levels/").json()
    assert [(r["code"], r["configured"]) for r in data["results"]] == [
        ("P1", False),
        ("P2", False),
        ("P3", False),
        ("P4", False),
        ("P5", False),
    ]
    body = {"level": 1, "name": "SEV1", "ack_within_minutes": 5, "resolve_within_minutes": 30}
    assert as_alice.post("/api/v1/priority-levels/", body, format="json").status_code == 403
    created = staff.post("/api/v1/priority-levels/", body, format="json")
    assert created.status_code == 201, created.json()
    data = staff.get("/api/v1/priority-levels/").json()
    assert [(r["code"], r["name"], r["configured"]) for r in data["results"]] == [
        ("P1", "SEV1", True)
    ]
    assert (
        staff.patch(
            "/api/v1/priority-levels/1/", {"resolve_within_minutes": None}, format="json"
        ).json()["resolve_within_minutes"]
        is None
    )
    assert AuditEntry.objects.filter(object_type="paging.prioritylevel").count() == 2
    assert staff.delete("/api/v1/priority-levels/1/").status_code == 204
    assert not PriorityLevel.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 6, "name": "SEV6"}, "level"),
        ({"level": 2, "name": "P1"}, "name"),
        ({"level": 2, "name": "sev1"}, "name"),
        ({"level": 2, "name": "SEV2", "ack_within_minutes": -1}, "ack_within_minutes"),
    ],
)
def test_bad_levels_are_a_400_naming_the_field(staff, body, field) -> None:
    PriorityLevel.objects.create(level=1, name="SEV1")
    response = staff.post("/api/v1/priority-levels/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_service_policies_per_priority(staff) -> None:
    service = ServiceFactory()
    fast, slow = EscalationPolicyFactory(), EscalationPolicyFactory()
    url = f"/api/v1/services/{service.pk}/"
    body = {"priority_policies": {"P1": fast.pk, "p2": slow.pk}}
    response = staff.patch(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["priority_policies"] == {"P1": fast.pk, "P2": slow.pk}
    response = staff.patch(url, {"priority_policies": {"1": slow.pk}}, format="json")
    assert response.json()["priority_policies"] == {"P1": slow.pk}
    rows = ServicePriorityPolicy.objects.values_list("priority", "escalation_policy_id")
    assert list(rows) == [(1, slow.pk)]
    entries = AuditEntry.objects.filter(object_type="paging.serviceprioritypolicy")
    assert [e.action for e in entries.order_by("id")] == ["create", "create", "delete", "update"]
    assert {e.parent for e in entries} == {f"paging.service:{service.pk}"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"P9": 1}, "P9: 'P9' is not a priority"),
        ({"P1": "fast"}, "P1: must be an escalation policy id"),
        ({"P1": 999999}, "no such escalation policy: [999999]"),
        ({"P1": 1, "1": 1}, "'1': name each priority once"),
        (["P1"], "must be an object"),
    ],
)
def test_bad_policies_per_priority_are_a_400_naming_the_field(staff, value, reason) -> None:
    EscalationPolicyFactory(pk=1)
    service = ServiceFactory()
    response = staff.patch(
        f"/api/v1/services/{service.pk}/", {"priority_policies": value}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["priority_policies"]
    assert message.startswith(reason)
