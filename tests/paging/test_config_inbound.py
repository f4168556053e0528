"""Config as code for the inbound settings of integrations: rate limit and SNS topics."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from oncall.audit.models import AuditEntry
from paging.models import Integration
from tests.paging.test_config_section import DOC, apply, export

pytestmark = pytest.mark.django_db

TOPIC = "arn:aws:sns:eu-central-1:123456789012:platform-alarms"


def doc_with(*integrations: dict) -> dict:
    doc = copy.deepcopy(DOC)
    doc["services"][0]["integrations"] = list(integrations)
    return doc


def test_rate_limit_and_topics_apply_update_and_export(tmp_path: Path) -> None:
    doc = doc_with(
        {"name": "cloudwatch", "kind": "sns", "sns_topics": [TOPIC]},
        {"name": "grafana", "kind": "grafana", "rate_limit_per_minute": 300},
        {"name": "prometheus", "kind": "alertmanager"},
    )
    apply(tmp_path, doc)
    sns = Integration.objects.get(name="cloudwatch")
    assert (sns.sns_topic_arns, sns.rate_limit_per_minute) == ([TOPIC], 120)
    assert Integration.objects.get(name="grafana").rate_limit_per_minute == 300
    exported = export()["services"][0]["integrations"]
    assert exported == [
        {"name": "cloudwatch", "kind": "sns", "grouping": "group", "sns_topics": [TOPIC]},
        {"name": "grafana", "kind": "grafana", "grouping": "group", "rate_limit_per_minute": 300},
        {"name": "prometheus", "kind": "alertmanager", "grouping": "group"},
    ]

    doc["services"][0]["integrations"][1]["rate_limit_per_minute"] = 0
    out = apply(tmp_path, doc)
    assert "~ services[payments-api].integrations[grafana]: rate_limit_per_minute 300 -> 0" in out
    assert Integration.objects.get(name="grafana").rate_limit_per_minute == 0
    entry = AuditEntry.objects.filter(object_type="paging.integration", action="update").get()
    assert entry.changes["rate_limit_per_minute"] == [300, 0]
    assert "~" not in apply(tmp_path, doc)  # applying again changes nothing


@pytest.mark.parametrize(
    ("integration", "where"),
    [
        (
            {"name": "x", "kind": "webhook", "rate_limit_per_minute": -1},
            "services[0].integrations[0].rate_limit_per_minute: must be 0 (no limit)",
        ),
        (
            {"name": "x", "kind": "webhook", "sns_topics": [TOPIC]},
            "services[0].integrations[0].sns_topics: only an sns integration takes topics",
        ),
        (
            {"name": "x", "kind": "sns", "sns_topics": ["arn:aws:sqs:eu-central-1:1:q"]},
            "services[0].integrations[0].sns_topics: item 1 is not an SNS topic ARN",
        ),
    ],
)
def test_bad_values_name_their_path(tmp_path: Path, integration: dict, where: str) -> None:
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, doc_with(integration))
    assert where in str(exc.value)
    assert not Integration.objects.exists()
