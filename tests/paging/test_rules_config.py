"""Alert rules and inhibit rules as code: apply, plan, idempotence, round trip, errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from django.core.management.base import CommandError

from oncall.audit.models import AuditEntry
from paging.models import AlertRule, InhibitRule, Integration, Service
from tests.paging.test_config_section import apply, export

pytestmark = pytest.mark.django_db

DOC = yaml.safe_load(
    """
teams:
  - {slug: platform, name: Platform}
  - {slug: db, name: Database}
holiday_calendars:
  - {name: Germany, holidays: [{date: "2026-12-25"}]}
services:
  - name: kubernetes
    team: platform
    integrations:
      - name: alertmanager
        kind: alertmanager
        rules:
          - name: postgres to the database team
            conditions: ['service="postgresql"']
            actions: {service: postgresql}
          - name: critical is P1
            conditions: [{field: labels.severity, op: equals, value: critical}]
            actions:
              priority: P1
              links: [{text: Runbook, href: "https://rb.example.com/{{ labels.alertname }}"}]
            continue: true
          - name: quiet warnings at night
            match: all
            conditions:
              - 'severity="warning"'
              - {op: outside_business_hours, calendar: Germany, time_zone: Europe/Berlin}
            actions: {urgency: low}
  # Defined after the rule that routes to it.
  - {name: postgresql, team: db}
inhibit_rules:
  - name: critical mutes warning
    source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [instance]
"""
)
PLAN = "services[kubernetes].integrations[alertmanager].rules"


def doc() -> dict:
    return copy.deepcopy(DOC)


def test_apply_creates_rules_in_file_order_and_an_inhibition(tmp_path: Path) -> None:
    out = apply(tmp_path, doc())
    integration = Integration.objects.get(name="alertmanager")
    rules = list(integration.rules.order_by("position"))
    assert [r.name for r in rules] == [
        "postgres to the database team",
        "critical is P1",
        "quiet warnings at night",
    ]
    assert rules[0].route_service == Service.objects.get(name="postgresql")
    assert rules[0].conditions == [
        {"field": "labels.service", "op": "equals", "value": "postgresql"}
    ]
    assert (rules[1].set_priority, rules[1].continue_matching) == (1, True)
    assert rules[2].conditions[1] == {
        "op": "outside_business_hours",
        "time_zone": "Europe/Berlin",
        "calendar": "Germany",
        "days": "mon-fri",
        "hours": "08:00-18:00",
    }
    inhibit = InhibitRule.objects.get()
    assert inhibit.equal == ["labels.instance"]
    assert f"+ {PLAN}[critical is P1]" in out
    assert "+ inhibit_rules[critical mutes warning]" in out
    assert AuditEntry.objects.filter(object_type="paging.alertrule", action="create").count() == 3
    assert AuditEntry.objects.filter(object_type="paging.inhibitrule", action="create").count() == 1


def test_second_apply_and_export_round_trip_change_nothing(tmp_path: Path) -> None:
    apply(tmp_path, doc())
    assert "No changes." in apply(tmp_path, doc())
    exported = export()
    assert "No changes." in apply(tmp_path, exported)
    assert exported["inhibit_rules"][0]["equal"] == ["instance"]
    rules = exported["services"][0]["integrations"][0]["rules"]
    assert rules[1]["actions"]["priority"] == 1


def test_a_changed_rule_is_an_update_and_a_new_order_moves_rules(tmp_path: Path) -> None:
    apply(tmp_path, doc())
    changed = doc()
    rules = changed["services"][0]["integrations"][0]["rules"]
    rules[1]["actions"]["priority"] = 2
    rules.reverse()
    out = apply(tmp_path, changed)
    assert (
        "~ services[kubernetes].integrations[alertmanager].rules[critical is P1]: priority" in out
    )
    integration = Integration.objects.get(name="alertmanager")
    assert list(integration.rules.order_by("position").values_list("name", flat=True)) == [
        "quiet warnings at night",
        "critical is P1",
        "postgres to the database team",
    ]


def test_rules_missing_from_the_file_are_kept_unless_pruned(tmp_path: Path) -> None:
    apply(tmp_path, doc())
    fewer = doc()
    del fewer["services"][0]["integrations"][0]["rules"][0]
    fewer["inhibit_rules"] = []
    out = apply(tmp_path, fewer)
    assert (
        "? services[kubernetes].integrations[alertmanager].rules[postgres to the database team]"
        in out
    )
    assert "? inhibit_rules[critical mutes warning]" in out
    assert AlertRule.objects.count() == 3
    out = apply(tmp_path, fewer, "--prune")
    assert (
        "- services[kubernetes].integrations[alertmanager].rules[postgres to the database team]"
        in out
    )
    assert AlertRule.objects.count() == 2
    assert not InhibitRule.objects.exists()


def test_a_file_without_the_service_a_rule_routes_to_names_the_rule(tmp_path: Path) -> None:
    apply(tmp_path, doc())
    without = doc()
    del without["services"][1]
    with pytest.raises(CommandError, match=r"rules\[0\]\.actions\.service: unknown service"):
        apply(tmp_path, without, "--prune")
    assert Service.objects.filter(name="postgresql").exists()


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (lambda r: r[0].update(conditions=['service=~"("']), "rules[0].conditions[0].value",
         "is not a valid regular expression"),
        (lambda r: r[0].update(conditions=[{"field": "labels.x", "op": "like", "value": "a"}]),
         "rules[0].conditions[0].op", "unknown operator 'like'"),
        (lambda r: r[0]["actions"].update(service="nope"), "rules[0].actions.service",
         "unknown service 'nope'"),
        (lambda r: r[2]["conditions"][1].update(calendar="Mars"), "rules[2].conditions[1].calendar",
         "no holiday calendar is named 'Mars'"),
        (lambda r: r[2]["conditions"][1].update(time_zone="Mars/Base"),
         "rules[2].conditions[1].time_zone", "is not an IANA time zone name"),
        (lambda r: r[1]["actions"].update(priority=7), "rules[1].actions.priority",
         "7 is not a priority"),
        (lambda r: r[1]["actions"]["links"][0].update(href="ftp://x/{{ labels.a }}"),
         "rules[1].actions.links[0].href", "https://"),
        (lambda r: r[1]["actions"].update(dedup_key="{{ labels.instance"),
         "rules[1].actions.dedup_key", "pairs"),
        (lambda r: r.append(dict(r[0])), "rules[3].name", "duplicate"),
        (lambda r: r[0].update(then={}), "rules[0].then", "unknown field"),
    ],
)  # fmt: skip
def test_errors_name_the_path_and_change_nothing(tmp_path: Path, mutate, where, problem) -> None:
    bad = doc()
    mutate(bad["services"][0]["integrations"][0]["rules"])
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, bad)
    assert f"services[0].integrations[0].{where}: " in str(exc.value)
    assert problem in str(exc.value)
    assert not Service.objects.exists()


def test_inhibit_rule_errors_name_the_path(tmp_path: Path) -> None:
    bad = doc()
    bad["inhibit_rules"][0]["source_matchers"] = ["severity critical"]
    with pytest.raises(
        CommandError, match=r"inhibit_rules\[0\]\.source_matchers\[0\]: .* is not a matcher"
    ):
        apply(tmp_path, bad)


def test_the_example_file_has_rules_and_an_inhibition(tmp_path: Path) -> None:
    from django.core.management import call_command

    example = Path(__file__).resolve().parents[2] / "examples" / "oncall.yaml"
    call_command("oncall_apply", str(example), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert AlertRule.objects.filter(route_service__name="postgresql").exists()
    assert AlertRule.objects.filter(route_service__name="security").exists()
    assert InhibitRule.objects.filter(equal=["labels.instance"]).exists()
    text = yaml.safe_dump(export())
    assert "inhibit_rules" in text
