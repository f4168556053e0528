"""Config as code: the ``priorities`` section and a service's ``priority_policies``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from django.core.management.base import CommandError

from paging.models import PriorityLevel, Service, ServicePriorityPolicy
from tests.config.conftest import run_apply, run_export

pytestmark = pytest.mark.django_db

DOC = {
    "teams": [{"slug": "data", "name": "Data"}],
    "engineers": [{"username": "tom", "display_name": "Tom", "teams": [{"team": "data"}]}],
    "priorities": [
        {
            "priority": "P1",
            "name": "SEV1",
            "description": "Customers cannot pay",
            "ack_within_minutes": 5,
            "resolve_within_minutes": 60,
        },
        {"priority": "P2", "name": "SEV2"},  # the defaults' targets: 15 and 240
        {
            "priority": "P3",
            "name": "SEV3",
            "ack_within_minutes": 30,
            "resolve_within_minutes": None,
        },
    ],
    "escalation_policies": [
        {
            "name": "data-default",
            "steps": [{"delay_minutes": 15, "targets": [{"engineer": "tom"}]}],
        },
        {"name": "data-urgent", "steps": [{"delay_minutes": 5, "targets": [{"engineer": "tom"}]}]},
    ],
    "services": [
        {
            "name": "warehouse",
            "team": "data",
            "escalation_policy": "data-default",
            "priority_policies": {"SEV1": "data-urgent"},
        }
    ],
}


def apply(tmp_path: Path, doc: dict, *args: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_apply(path, *args)


def export() -> dict:
    return yaml.safe_load(run_export())


def levels() -> list[tuple]:
    return list(
        PriorityLevel.objects.order_by("level").values_list(
            "level", "name", "ack_within_minutes", "resolve_within_minutes"
        )
    )


def test_apply_creates_levels_and_policies_per_priority(tmp_path: Path) -> None:
    out = apply(tmp_path, DOC)
    assert "+ priorities[P1]: SEV1" in out
    assert levels() == [(1, "SEV1", 5, 60), (2, "SEV2", 15, 240), (3, "SEV3", 30, None)]
    [row] = ServicePriorityPolicy.objects.all()
    assert (row.service.name, row.priority, row.escalation_policy.name) == (
        "warehouse",
        1,
        "data-urgent",
    )
    assert "No changes." in apply(tmp_path, DOC)


def test_export_round_trips(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    exported = export()
    assert exported["priorities"][1] == {
        "priority": "P2",
        "name": "SEV2",
        "ack_within_minutes": 15,
        "resolve_within_minutes": 240,
    }
    assert exported["services"][0]["priority_policies"] == {"P1": "data-urgent"}
    assert "No changes." in apply(tmp_path, exported)


def test_changes_are_updates_and_levels_left_out_are_pruned(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    doc = copy.deepcopy(DOC)
    doc["priorities"][0]["ack_within_minutes"] = 10
    doc["priorities"].pop()  # P3
    doc["services"][0]["priority_policies"] = {"P1": "data-default", "P2": "data-urgent"}
    out = apply(tmp_path, doc)
    assert "~ priorities[P1]: ack_within_minutes 5 -> 10" in out
    assert "? priorities[P3]" in out
    assert "~ services[warehouse]: priority_policies {'P1': 'data-urgent'} -> " in out
    assert len(levels()) == 3
    out = apply(tmp_path, doc, "--prune")
    assert "- priorities[P3]" in out
    assert levels() == [(1, "SEV1", 10, 60), (2, "SEV2", 15, 240)]
    rows = ServicePriorityPolicy.objects.order_by("priority")
    assert [(r.priority, r.escalation_policy.name) for r in rows] == [
        (1, "data-default"),
        (2, "data-urgent"),
    ]


def test_a_file_without_the_section_leaves_the_levels_alone(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    doc = {k: v for k, v in DOC.items() if k != "priorities"}
    apply(tmp_path, doc, "--prune")
    assert len(levels()) == 3


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (
            lambda d: d["priorities"][0].update(priority="P6"),
            "priorities[0].priority: 'P6' is not one of: P1, P2, P3, P4, P5",
        ),
        (
            lambda d: d["priorities"][1].update(priority="p1"),
            "priorities[1].priority: duplicate: 'P1' is already defined at priorities[0].priority",
        ),
        (
            lambda d: d["priorities"][1].update(name="sev1"),
            "priorities[1].name: 'sev1' is already the name of P1",
        ),
        (
            lambda d: d["priorities"][1].update(name="P3"),
            "priorities[1].name: 'P3' reads as P3: give P2 another name (e.g. SEV2)",
        ),
        (
            lambda d: d["priorities"][0].update(ack_within_minutes=0),
            "priorities[0].ack_within_minutes: must be 1 or more minutes (null = no target)",
        ),
        (
            lambda d: d["priorities"][0].update(resolve_within_minutes="1h"),
            "priorities[0].resolve_within_minutes: expected an integer, got a string",
        ),
        (
            lambda d: d["services"][0].update(priority_policies={"P5": "data-urgent"}),
            "services[0].priority_policies.P5: P5 is not a priority in use here",
        ),
        (
            lambda d: d["services"][0].update(priority_policies={"P1": "nope"}),
            "services[0].priority_policies.P1: policy 'nope' is not defined",
        ),
        (
            lambda d: d["services"][0].update(priority_policies={"P1": 3}),
            "services[0].priority_policies.P1: expected a string, got an integer",
        ),
    ],
)
def test_errors_name_the_path_and_change_nothing(tmp_path: Path, mutate, error) -> None:
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, doc)
    assert f"oncall.yaml: {error}" in str(exc.value)
    assert not PriorityLevel.objects.exists()
    assert not Service.objects.exists()
