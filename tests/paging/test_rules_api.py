"""The rules API: read and replace an integration's rules, try them on a sample, inhibit
rules CRUD; 400s name the field; writes are audited; permissions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from paging.models import AlertRule, Incident, InhibitRule, Integration
from tests.factories import UserFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory
from tests.paging.rules_helpers import am, message, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="boss", is_staff=True))
    return client


@pytest.fixture
def engineer() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="eve"))
    return client


@pytest.fixture
def integration() -> Integration:
    return IntegrationFactory(grouping=Integration.Grouping.ALERT)


RULES = [
    {
        "name": "postgres to the database team",
        "conditions": ['service="postgresql"'],
        "actions": {"service": "postgresql", "priority": "P2"},
    },
    {
        "name": "runbooks",
        "conditions": [{"field": "labels.alertname", "op": "exists"}],
        "actions": {
            "links": [{"text": "Runbook", "href": "https://rb.example.com/{{ labels.alertname }}"}]
        },
        "continue": True,
    },
    {"name": "drop info", "conditions": ['severity="info"'], "actions": {"suppress": True}},
]


def test_put_then_get_round_trips_and_the_next_alert_follows(staff, integration) -> None:
    database = ServiceFactory(name="postgresql")
    url = f"/api/v1/integrations/{integration.pk}/rules/"
    answer = staff.put(url, {"rules": RULES}, format="json")
    assert answer.status_code == 200, answer.content
    rules = answer.json()["rules"]
    assert [r["name"] for r in rules] == [r["name"] for r in RULES]
    assert rules[0]["actions"] == {"service": "postgresql", "priority": 2}
    assert rules[0]["conditions"] == [
        {"field": "labels.service", "op": "equals", "value": "postgresql"}
    ]
    assert staff.get(url).json() == answer.json()
    # What GET gives, PUT takes: nothing changes, nothing is audited again.
    before = AuditEntry.objects.count()
    assert staff.put(url, {"rules": rules}, format="json").status_code == 200
    assert AuditEntry.objects.count() == before
    assert AuditEntry.objects.filter(object_type="paging.alertrule", action="create").count() == 3
    entry = AuditEntry.objects.filter(object_type="paging.alertrule").first()
    assert entry.parent == f"paging.integration:{integration.pk}"
    assert entry.actor_label == "boss (API session)"

    post(integration, am("aaaa000000000001", service="postgresql"))
    assert Incident.objects.get().service == database


@pytest.mark.parametrize(
    ("rules", "field", "problem"),
    [
        ([{"name": "x", "conditions": ['a=~"(unclosed"']}], "rules[0].conditions[0].value",
         "is not a valid regular expression"),
        ([{"name": "x", "conditions": [{"field": "labels.a", "op": "matches", "value": "1"}]}],
         "rules[0].conditions[0].op", "unknown operator 'matches'"),
        ([{"name": "x", "actions": {"service": 999999}}], "rules[0].actions.service",
         "unknown service"),
        ([{"name": "x", "actions": {"service": "nope"}}], "rules[0].actions.service",
         "unknown service 'nope'"),
        ([{"name": "x", "actions": {"severity": "huge"}}], "rules[0].actions.severity",
         "is not one of critical"),
        ([{"name": "x"}, {"name": "x"}], "rules[1].name", "duplicate"),
        ([{"conditions": []}], "rules[0].name", "required"),
        ("nope", "rules", "expected a list"),
        ([{"name": "x", "conditions": [{"field": "bad field", "op": "exists"}]}],
         "rules[0].conditions[0].field", "is not a field"),
    ],
)  # fmt: skip
def test_bad_rules_are_400_naming_the_field(staff, integration, rules, field, problem) -> None:
    answer = staff.put(
        f"/api/v1/integrations/{integration.pk}/rules/", {"rules": rules}, format="json"
    )
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert problem in answer.json()[field][0]
    assert not AlertRule.objects.exists()


def test_the_test_endpoint_explains_each_rule_and_writes_nothing(staff, integration) -> None:
    ServiceFactory(name="postgresql")
    staff.put(f"/api/v1/integrations/{integration.pk}/rules/", {"rules": RULES}, format="json")
    sample = message(
        am("aaaa000000000001", service="postgresql"), am("bbbb000000000002", severity="info")
    )
    answer = staff.post(
        f"/api/v1/integrations/{integration.pk}/rules/test/", {"sample": sample}, format="json"
    )
    assert answer.status_code == 200, answer.content
    first, second = answer.json()["alerts"]
    assert first["matched"] == ["postgres to the database team"]
    assert (first["service"], first["priority"], first["paged"]) == ("postgresql", 2, True)
    assert first["rules"][0]["conditions"] == [{"condition": 'service="postgresql"', "true": True}]
    assert first["rules"][1]["reached"] is False
    assert second["matched"] == ["runbooks", "drop info"]
    assert second["suppressed_by"] == "rule drop info"
    assert second["links"][-1] == {
        "text": "Runbook",
        "href": "https://rb.example.com/PaymentAPIDown",
    }
    assert not Incident.objects.exists()

    # Unsaved rules can be tried too; a bad sample is a 400 naming its field.
    tried = staff.post(
        f"/api/v1/integrations/{integration.pk}/rules/test/",
        {"sample": sample, "rules": [{"name": "all P5", "actions": {"priority": 5}}]},
        format="json",
    )
    assert [a["priority"] for a in tried.json()["alerts"]] == [5, 5]
    bad = staff.post(
        f"/api/v1/integrations/{integration.pk}/rules/test/",
        {"sample": {"alerts": []}},
        format="json",
    )
    assert bad.status_code == 400
    assert "'groupKey' is missing" in bad.json()["sample"][0]


def test_the_test_endpoint_says_when_an_alert_would_be_inhibited(staff, integration) -> None:
    staff.post(
        "/api/v1/inhibit-rules/",
        {
            "name": "critical mutes warning",
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["instance"],
        },
        format="json",
    )
    post(integration, am("c000000000000001", instance="db-1"))
    sample = message(am("w000000000000001", severity="warning", instance="db-1"))
    answer = staff.post(
        f"/api/v1/integrations/{integration.pk}/rules/test/", {"sample": sample}, format="json"
    )
    assert answer.json()["alerts"][0]["suppressed_by"].startswith("inhibited by")


def test_inhibit_rules_crud(staff, engineer) -> None:
    body = {
        "name": "critical mutes warning",
        "source_matchers": ['severity="critical"'],
        "target_matchers": [{"field": "labels.severity", "op": "equals", "value": "warning"}],
        "equal": ["instance", "labels.cluster"],
    }
    created = staff.post("/api/v1/inhibit-rules/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["equal"] == ["instance", "cluster"]
    assert data["source_matchers"] == [
        {"field": "labels.severity", "op": "equals", "value": "critical"}
    ]
    url = f"/api/v1/inhibit-rules/{data['id']}/"
    assert engineer.get("/api/v1/inhibit-rules/").json()["results"][0]["name"] == body["name"]
    assert engineer.delete(url).status_code == 403
    patched = staff.patch(url, {"enabled": False}, format="json")
    assert patched.json()["enabled"] is False
    dup = staff.post("/api/v1/inhibit-rules/", body, format="json")
    assert dup.status_code == 400 and "name" in dup.json()
    bad = staff.patch(url, {"equal": ["bad label"]}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["equal[0]"]
    missing = staff.post("/api/v1/inhibit-rules/", {"name": "x"}, format="json")
    assert list(missing.json()) == ["source_matchers"]
    assert staff.delete(url).status_code == 204
    assert not InhibitRule.objects.exists()
    actions = list(
        AuditEntry.objects.filter(object_type="paging.inhibitrule")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_rules_are_staff_only(engineer, integration) -> None:
    assert engineer.get(f"/api/v1/integrations/{integration.pk}/rules/").status_code == 403
    assert APIClient().get(f"/api/v1/integrations/{integration.pk}/rules/").status_code in (
        401,
        403,
    )


def test_unknown_or_huge_ids_are_404(staff) -> None:
    assert staff.get("/api/v1/integrations/999999/rules/").status_code == 404
    assert staff.get(f"/api/v1/integrations/{10**30}/rules/").status_code == 404
    assert staff.get(f"/api/v1/inhibit-rules/{10**30}/").status_code == 404


def test_deleting_a_service_rules_route_to_is_a_409_naming_them(staff, integration) -> None:
    database = ServiceFactory(name="postgresql")
    staff.put(f"/api/v1/integrations/{integration.pk}/rules/", {"rules": RULES[:1]}, format="json")
    answer = staff.delete(f"/api/v1/services/{database.pk}/")
    assert answer.status_code == 409
    assert "rule 'postgres to the database team'" in answer.json()["detail"]


def test_suppressed_incidents_are_listed_and_filtered(staff, integration) -> None:
    staff.put(f"/api/v1/integrations/{integration.pk}/rules/", {"rules": RULES[2:]}, format="json")
    post(integration, am("aaaa000000000001", severity="info"), am("bbbb000000000002"))
    listed = staff.get("/api/v1/incidents/").json()["results"]
    assert sorted(i["suppressed_by"] for i in listed) == ["", "rule drop info"]
    only = staff.get("/api/v1/incidents/?suppressed=true").json()["results"]
    assert [i["suppressed_by"] for i in only] == ["rule drop info"]
    assert len(staff.get("/api/v1/incidents/?suppressed=false").json()["results"]) == 1
    assert staff.get("/api/v1/incidents/?suppressed=maybe").status_code == 400
    detail = staff.get(f"/api/v1/incidents/{only[0]['id']}/").json()
    assert [line["kind"] for line in detail["timeline"]][:2] == ["triggered", "suppressed"]


def test_the_test_endpoint_reads_grafana_and_sns_samples(staff) -> None:
    from tests.paging.inbound.samples import sample

    grafana = IntegrationFactory(kind="grafana", grouping=Integration.Grouping.ALERT)
    rule = {"name": "grafana folder", "conditions": ["grafana_folder exists"]}
    rule["actions"] = {"priority": 2}
    staff.put(f"/api/v1/integrations/{grafana.pk}/rules/", {"rules": [rule]}, format="json")
    answer = staff.post(
        f"/api/v1/integrations/{grafana.pk}/rules/test/",
        {"sample": sample("grafana_alerting_webhook.json")},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert {a["priority"] for a in answer.json()["alerts"] if a["action"] == "trigger"} == {2}
    sns = IntegrationFactory(kind="sns")
    notification = sample("sns_cloudwatch_alarm.json")
    notification["Signature"] = "c2lnbmF0dXJl"  # well formed; a trial does not verify it
    answer = staff.post(
        f"/api/v1/integrations/{sns.pk}/rules/test/", {"sample": notification}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["alerts"][0]["service"] == sns.service.name


def test_a_matcher_list_nested_5000_deep_is_a_400_naming_the_condition(staff, integration) -> None:
    """Issue 12 item 4: a shallow body whose matcher string holds 5,000 brackets (the
    list after ``in`` is read as JSON) is a 400 on that condition, not a RecursionError."""
    rules = [{"name": "deep", "conditions": ["severity in " + "[" * 5000 + "]" * 5000]}]
    url = f"/api/v1/integrations/{integration.pk}/rules/"
    answer = staff.put(url, {"rules": rules}, format="json")
    assert answer.status_code == 400, answer.content
    assert "rules[0].conditions[0]" in answer.content.decode()
    assert not AlertRule.objects.exists()
