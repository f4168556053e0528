"""Suppressed incidents are visible and counted: left out of response times (nobody
was paged), counted on /metrics by reason; one whose inhibition ended counts as paged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.filters import MetricFilter
from analytics.metrics import response_times
from analytics.prometheus import exposition
from paging.models import Integration
from tests.paging.factories import IntegrationFactory
from tests.paging.rules_helpers import am, inhibition_set, post, rules_set

pytestmark = pytest.mark.django_db


def test_suppressed_incidents_are_counted_apart(clock) -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    rules_set(
        integration,
        [{"name": "drop info", "conditions": ['severity="info"'], "actions": {"suppress": True}}],
    )
    inhibition_set(
        name="critical mutes warning",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["instance"],
    )
    post(
        integration,
        am("c000000000000001", instance="db-1"),
        am("w000000000000001", severity="warning", instance="db-1"),
        am("w000000000000002", severity="warning", instance="db-2"),
        am("i000000000000001", severity="info", instance="db-1"),
    )
    text = exposition()
    assert "incidents_triggered_total 4" in text
    assert 'incidents_suppressed_total{reason="rule"} 1' in text
    assert 'incidents_suppressed_total{reason="inhibition"} 1' in text
    now = timezone.now()
    flt = MetricFilter(start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert response_times(flt=flt)[0]["incidents"] == 2  # the two that paged

    post(integration, am("c000000000000001", "resolved", instance="db-1"))
    assert 'incidents_suppressed_total{reason="inhibition"} 0' in exposition()
    assert response_times(flt=flt)[0]["incidents"] == 3
