"""Alert rules inline on the integration page (through alert_rules_save), the test box,
and the inhibit rules' admin; errors on the field they are about."""

from __future__ import annotations

import json

import pytest

from oncall.audit.models import AuditEntry
from paging.models import AlertRule, Incident, InhibitRule, Integration
from tests.paging.factories import IntegrationFactory, ServiceFactory
from tests.paging.rules_helpers import am, message, rules_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration() -> Integration:
    return IntegrationFactory(grouping=Integration.Grouping.ALERT, name="prometheus")


def form_data(integration: Integration, rules: list[dict], initial: int = 0) -> dict:
    data = {
        "service": str(integration.service_id),
        "kind": integration.kind,
        "name": integration.name,
        "grouping": integration.grouping,
        "rate_limit_per_minute": str(integration.rate_limit_per_minute),
        "sns_topic_arns": "",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": str(initial),
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for i, rule in enumerate(rules):
        data.update({f"rules-{i}-{key}": value for key, value in rule.items()})
        data[f"rules-{i}-integration"] = str(integration.pk)
    return data


def test_rules_are_edited_inline_in_order_and_audited(admin_client_, integration) -> None:
    database = ServiceFactory(name="postgresql")
    url = f"/admin/paging/integration/{integration.pk}/change/"
    page = admin_client_.get(url).content.decode()
    assert "Alert rules (in order: the first that matches decides" in page
    assert "Test these rules against a sample alert" in page
    rules = [
        {
            "number": "2",
            "name": "runbooks",
            "enabled": "on",
            "match": "all",
            "conditions_text": "",
            "links_text": "Runbook | https://rb.example.com/{{ labels.alertname }}",
            "continue_matching": "on",
        },
        {
            "number": "1",
            "name": "postgres",
            "enabled": "on",
            "match": "any",
            "conditions_text": 'service="postgresql"\nenv in "prod", "staging"\n'
            "in business hours mon-fri 09:00-17:00 Europe/Berlin",
            "route_service": str(database.pk),
            "set_priority": "2",
        },
    ]
    response = admin_client_.post(url, form_data(integration, rules))
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = list(integration.rules.order_by("position"))
    assert [r.name for r in saved] == ["postgres", "runbooks"]
    assert saved[0].match == "any"
    assert saved[0].conditions == [
        {"field": "labels.service", "op": "equals", "value": "postgresql"},
        {"field": "labels.env", "op": "in", "value": ["prod", "staging"]},
        {
            "op": "business_hours",
            "time_zone": "Europe/Berlin",
            "calendar": "",
            "days": "mon-fri",
            "hours": "09:00-17:00",
        },
    ]
    assert (saved[0].route_service, saved[0].set_priority) == (database, 2)
    assert saved[1].links == [
        {"text": "Runbook", "href": "https://rb.example.com/{{ labels.alertname }}"}
    ]
    entries = AuditEntry.objects.filter(object_type="paging.alertrule")
    assert {e.actor_label for e in entries} == {"root (admin)"}
    # The page shows them again as lines, in order.
    page = admin_client_.get(url).content.decode()
    assert page.index('value="postgres"') < page.index('value="runbooks"')
    assert "env in &quot;prod&quot;, &quot;staging&quot;" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("conditions_text", 'severity="critical"\ninstance=~"("', "line 2: '(' is not a valid"),
        ("conditions_text", "severity is high", "line 1: 'severity is high' is not a matcher"),
        ("conditions_text", "in business hours mon-fri 08:00-18:00 Mars/Base", "is not an IANA"),
        ("links_text", "Runbook | ftp://x", "line 1: must start with https://"),
        ("dedup_key", "{{ labels.instance", "pairs"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_shown_on_its_field(
    admin_client_, integration, field, value, message
) -> None:
    rule = {"number": "1", "name": "r", "enabled": "on", "match": "all", field: value}
    url = f"/admin/paging/integration/{integration.pk}/change/"
    response = admin_client_.post(url, form_data(integration, [rule]))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert message in " ".join(errors[field]), errors
    assert not AlertRule.objects.exists()


def test_deleting_a_rule_inline(admin_client_, integration) -> None:
    rules_set(integration, [{"name": "a"}, {"name": "b"}])
    a, b = integration.rules.order_by("position")
    common = {"enabled": "on", "match": "all"}
    rows = [
        {"id": str(a.pk), "number": "1", "name": "a", "DELETE": "on", **common},
        {"id": str(b.pk), "number": "2", "name": "b", **common},
    ]
    url = f"/admin/paging/integration/{integration.pk}/change/"
    assert admin_client_.post(url, form_data(integration, rows, initial=2)).status_code == 302
    assert list(integration.rules.values_list("name", flat=True)) == ["b"]


def test_the_test_box_runs_the_saved_rules_on_a_sample(admin_client_, integration) -> None:
    drop = {"name": "drop info", "conditions": ['severity="info"'], "actions": {"suppress": True}}
    p1 = {"name": "critical is P1", "conditions": ['severity="critical"']}
    p1["actions"] = {"priority": 1}
    rules_set(integration, [drop, p1])
    sample = json.dumps(message(am("aaaa000000000001", severity="info"), am("bbbb000000000002")))
    url = f"/admin/paging/integration/{integration.pk}/rules-test/"
    page = admin_client_.post(url, {"sample": sample})
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 alerts in the sample" in html
    assert "nobody: rule drop info" in html
    assert "<strong>critical is P1</strong> —\n      matched" in html
    assert html.count("not reached (an earlier rule decided)") == 1  # the info alert's
    assert "P1" in html
    assert not Incident.objects.exists()

    bad = admin_client_.post(url, {"sample": '{"alerts": []}'})
    assert bad.status_code == 400
    assert "&#x27;groupKey&#x27; is missing" in bad.content.decode()
    assert admin_client_.post(url, {"sample": "{nope"}).status_code == 400
    assert admin_client_.get(url).status_code == 405


def test_inhibit_rule_admin_saves_through_the_service(admin_client_) -> None:
    response = admin_client_.post(
        "/admin/paging/inhibitrule/add/",
        {
            "name": "critical mutes warning",
            "enabled": "on",
            "source_text": 'severity="critical"',
            "target_text": 'severity="warning"',
            "equal_text": "instance, cluster",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = InhibitRule.objects.get()
    assert rule.equal == ["labels.instance", "labels.cluster"]
    assert AuditEntry.objects.filter(object_type="paging.inhibitrule", action="create").exists()
    listing = admin_client_.get("/admin/paging/inhibitrule/").content.decode()
    assert (
        "while severity=&quot;critical&quot; fires, hold new severity=&quot;warning&quot;"
        in listing
    )
    bad = admin_client_.post(
        f"/admin/paging/inhibitrule/{rule.pk}/change/",
        {"name": "x", "enabled": "on", "source_text": "nope nope", "target_text": 'a="b"'},
    )
    assert bad.status_code == 200
    assert "line 1: &#x27;nope nope&#x27; is not a matcher" in bad.content.decode()


def test_the_test_box_refuses_a_deeply_nested_sample_with_a_400(admin_client_, integration) -> None:
    """Issue 12 item 4: the sample goes through the inbound endpoints' bounded decoder,
    so 5,000 levels of nesting is a 400 on the field (a RecursionError was a 500)."""
    url = f"/admin/paging/integration/{integration.pk}/rules-test/"
    for sample in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000):
        page = admin_client_.post(url, {"sample": sample})
        assert page.status_code == 400
        assert "nested" in page.content.decode()
    assert admin_client_.post(url, {"sample": '{"a": 1e999}'}).status_code == 400
