"""The paging sections of the config file: escalation_policies and services."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from paging.models import EscalationPolicy, EscalationTarget, Integration, Service

pytestmark = pytest.mark.django_db

DOC = {
    "teams": [{"slug": "platform", "name": "Platform"}],
    "engineers": [
        {
            "username": "lena",
            "display_name": "Lena",
            "teams": [{"team": "platform"}],
            "contact_methods": [{"kind": "sms", "value": "+12025550101", "label": "sms"}],
            "notification_rules": [{"contact": "sms"}],
        },
        {"username": "marcus", "display_name": "Marcus", "teams": [{"team": "platform"}]},
    ],
    "escalation_policies": [
        {
            "name": "platform-primary",
            "team": "platform",
            "repeat": 1,
            "steps": [
                {"delay_minutes": 10, "targets": [{"engineer": "lena"}]},
                {
                    "delay_minutes": 5,
                    "targets": [{"team_round_robin": "platform"}, {"slack_channel": "C0123"}],
                },
            ],
        }
    ],
    "services": [
        {
            "name": "payments-api",
            "team": "platform",
            "escalation_policy": "platform-primary",
            "urgency_rules": {"warning": "high"},
            "ack_timeout_minutes": 30,
            "integrations": [
                {"name": "prometheus", "kind": "alertmanager"},
                {"name": "grafana", "kind": "pagerduty", "grouping": "alert"},
            ],
        }
    ],
}


def apply(tmp_path: Path, doc: dict, *args: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = StringIO()
    call_command("oncall_apply", str(path), *args, stdout=out)
    return out.getvalue()


def export() -> dict:
    out = StringIO()
    call_command("oncall_export", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_apply_creates_policies_services_integrations(tmp_path: Path) -> None:
    out = apply(tmp_path, DOC)
    assert "+ escalation_policies[platform-primary]" in out
    assert "+ services[payments-api].integrations[grafana]" in out
    service = Service.objects.get(name="payments-api")
    assert service.escalation_policy.name == "platform-primary"
    assert service.urgency_for("warning") == "high"
    assert service.urgency_for("info") == "low"
    assert service.ack_timeout_minutes == 30
    kinds = list(
        EscalationTarget.objects.order_by("step__position", "id").values_list("kind", flat=True)
    )
    assert kinds == ["engineer", "team_round_robin", "slack_channel"]
    assert Integration.objects.get(name="grafana").grouping == "alert"


def test_second_apply_changes_nothing_and_keeps_tokens(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    token = Integration.objects.get(name="prometheus").token
    assert "No changes." in apply(tmp_path, DOC)
    assert Integration.objects.get(name="prometheus").token == token


def test_export_round_trips(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    exported = export()
    assert exported["escalation_policies"] == DOC["escalation_policies"]
    service = exported["services"][0]
    assert service["urgency_rules"] == {"warning": "high"}
    assert [i["name"] for i in service["integrations"]] == ["grafana", "prometheus"]
    assert "No changes." in apply(tmp_path, exported)


def test_step_change_is_an_update(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    doc["escalation_policies"][0]["steps"][0]["targets"] = [{"engineer": "marcus"}]
    out = apply(tmp_path, doc)
    assert "~ escalation_policies[platform-primary]" in out
    policy = EscalationPolicy.objects.get()
    assert policy.steps.get(position=0).targets.get().engineer.username == "marcus"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (
            lambda d: d["escalation_policies"][0]["steps"][0]["targets"].append({"engineer": "x"}),
            "escalation_policies[0].steps[0].targets[1].engineer",
        ),
        (
            lambda d: d["escalation_policies"][0]["steps"][0]["targets"].append(
                {"engineer": "lena", "team_all": "platform"}
            ),
            "escalation_policies[0].steps[0].targets[1]",
        ),
        (
            lambda d: d["escalation_policies"][0]["steps"][1]["targets"].append(
                {"schedule": "nope"}
            ),
            "escalation_policies[0].steps[1].targets[2].schedule",
        ),
        (
            lambda d: d["services"][0].update(escalation_policy="missing"),
            "services[0].escalation_policy",
        ),
        (lambda d: d["services"][0].update(urgency_rules={"warning": "now"}), "services[0]"),
        (
            lambda d: d["services"][0]["integrations"].append({"name": "x", "kind": "nagios"}),
            "services[0].integrations[2].kind",
        ),
    ],
)
def test_errors_name_the_path(tmp_path: Path, mutate, where: str) -> None:
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    mutate(doc)
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, doc)
    assert f": {where}" in str(exc.value)
    assert not Service.objects.exists()  # all or nothing


def test_prune_refuses_to_delete_a_service_with_incidents(tmp_path: Path) -> None:
    from tests.paging.factories import IncidentFactory

    apply(tmp_path, DOC)
    IncidentFactory(service=Service.objects.get())
    doc = dict(DOC, services=[])
    with pytest.raises(CommandError, match="cannot delete a service with incidents"):
        apply(tmp_path, doc, "--prune")
