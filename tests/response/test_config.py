"""Config as code: ``status_page_groups`` and ``stakeholder_subscriptions`` through the
services (audited), idempotent, round-tripping export, pruning, errors naming the path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from django.core.management.base import CommandError

from oncall.audit.models import AuditEntry
from paging.response.models import StakeholderSubscription, StatusPageGroup
from tests.config.conftest import run_apply, run_export

pytestmark = pytest.mark.django_db

DOC = {
    "teams": [{"slug": "pay", "name": "Payments"}],
    "engineers": [
        {"username": "priya", "display_name": "Priya", "teams": [{"team": "pay"}]},
        {"username": "tom", "display_name": "Tom", "teams": [{"team": "pay"}]},
    ],
    "services": [{"name": "payments", "team": "pay"}, {"name": "api", "team": "pay"}],
    "status_page_groups": [
        {
            "name": "Checkout",
            "description": "Cart, payment and order confirmation",
            "position": 1,
            "services": ["api", "payments"],
        },
        {"name": "Public API", "position": 2, "services": ["api"]},
    ],
    "stakeholder_subscriptions": [
        {"service": "payments", "engineers": ["priya"], "slack_channels": ["C0PAYSTAKE"]}
    ],
}


def apply(tmp_path: Path, doc: dict, *args: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_apply(path, *args)


def _state() -> tuple[list, list]:
    groups = [
        (g.name, g.position, sorted(s.name for s in g.services.all()))
        for g in StatusPageGroup.objects.order_by("name")
    ]
    subs = sorted(
        (s.service.name, s.engineer.username if s.engineer else "", s.slack_channel)
        for s in StakeholderSubscription.objects.select_related("service", "engineer__user")
    )
    return groups, subs


def test_apply_is_idempotent_and_exports_what_it_read(tmp_path: Path) -> None:
    out = apply(tmp_path, DOC)
    assert "+ status_page_groups[Checkout]" in out
    assert "+ stakeholder_subscriptions[payments][engineer:priya]" in out
    assert "+ stakeholder_subscriptions[payments][slack:C0PAYSTAKE]" in out
    assert _state() == (
        [("Checkout", 1, ["api", "payments"]), ("Public API", 2, ["api"])],
        [("payments", "", "C0PAYSTAKE"), ("payments", "priya", "")],
    )
    # Written through the services: audited.
    assert AuditEntry.objects.filter(object_type="response.statuspagegroup").exists()
    assert AuditEntry.objects.filter(object_type="response.stakeholdersubscription").count() == 2
    assert "No changes." in apply(tmp_path, DOC)
    exported = yaml.safe_load(run_export())
    assert exported["status_page_groups"] == sorted(
        DOC["status_page_groups"], key=lambda g: g["name"]
    )
    assert exported["stakeholder_subscriptions"] == DOC["stakeholder_subscriptions"]
    assert "No changes." in apply(tmp_path, exported)


def test_changes_and_prune(tmp_path: Path) -> None:
    apply(tmp_path, DOC)
    doc = copy.deepcopy(DOC)
    doc["status_page_groups"][0]["services"] = ["payments"]
    del doc["status_page_groups"][1]
    doc["stakeholder_subscriptions"][0] = {"service": "payments", "engineers": ["tom"]}
    out = apply(tmp_path, doc)
    assert "~ status_page_groups[Checkout]: services ['api', 'payments'] -> ['payments']" in out
    assert "? status_page_groups[Public API]" in out
    assert "? stakeholder_subscriptions[payments][engineer:priya]" in out
    out = apply(tmp_path, doc, "--prune")
    assert "- status_page_groups[Public API]" in out
    assert _state() == ([("Checkout", 1, ["payments"])], [("payments", "tom", "")])


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (
            lambda d: d["status_page_groups"][0]["services"].append("nope"),
            "status_page_groups[0].services[2]: service 'nope' is not defined under services",
        ),
        (
            lambda d: d["stakeholder_subscriptions"][0]["engineers"].append("ghost"),
            "stakeholder_subscriptions[0].engineers[1]: engineer 'ghost' is not defined",
        ),
        (
            lambda d: d["stakeholder_subscriptions"][0]["slack_channels"].append("#general"),
            "stakeholder_subscriptions[0].slack_channels[1]: '#general' is not a Slack channel id",
        ),
        (
            lambda d: d["status_page_groups"].append({"name": "Checkout"}),
            "status_page_groups[2].name: duplicate",
        ),
        (
            lambda d: d["status_page_groups"][0].update(colour="red"),
            "status_page_groups[0]",
        ),
    ],
)
def test_errors_name_the_path_and_change_nothing(tmp_path: Path, mutate, error) -> None:
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, doc)
    assert error in str(raised.value)
    assert _state() == ([], [])
