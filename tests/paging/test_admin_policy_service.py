"""The policy page edits steps with their targets inline (through policy_save), shows
them numbered from 1; the service page sets urgency per severity and lists its
integrations' inbound URLs with copy buttons (no inline script)."""

from __future__ import annotations

import pytest
from django.test import Client

from paging.models import Service
from paging.policy_writes import StepSpec, TargetSpec, policy_save
from schedules import services as schedule_services
from tests.factories import EngineerFactory, TeamFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_policy_page_edits_steps_and_targets_inline(admin_client_: Client) -> None:
    alice = EngineerFactory(display_name="Alice")
    team = TeamFactory(name="Core")
    schedule = schedule_services.schedule_create(team=team, name="Primary", time_zone="UTC")
    policy = policy_save(
        policy=None,
        fields={"name": "Primary"},
        steps=[StepSpec(delay_minutes=10, targets=[TargetSpec("engineer", engineer_id=alice.pk)])],
    )
    url = f"/admin/paging/escalationpolicy/{policy.pk}/change/"
    html = admin_client_.get(url).content.decode()
    assert "Step 1 — page Alice; wait 10 min, then stop (the last step)" in html
    assert "Then wait (minutes)" in html and "before the next step runs" in html
    step = policy.steps.get()
    response = admin_client_.post(
        url,
        {
            "name": "Primary",
            "repeat": "0",
            "steps-TOTAL_FORMS": "2",
            "unresolved_steps-TOTAL_FORMS": "0",
            "unresolved_steps-INITIAL_FORMS": "0",
            "steps-INITIAL_FORMS": "1",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-id": str(step.pk),
            "steps-0-policy": str(policy.pk),
            "steps-0-number": "1",
            "steps-0-delay_minutes": "5",
            "steps-0-targets": [f"schedule:{schedule.pk}", f"engineer:{alice.pk}"],
            "steps-1-policy": str(policy.pk),
            "steps-1-number": "2",
            "steps-1-delay_minutes": "30",
            "steps-1-targets": [f"team_all:{team.pk}"],
            "steps-1-slack_channels": "C123",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()

    def ref(t: dict) -> object:
        return t["schedule"] or t["engineer"] or t["team"] or t["address"]

    steps = [
        (s["delay_minutes"], [(t["kind"], ref(t)) for t in s["targets"]])
        for s in policy.current_version.steps
    ]
    assert steps == [
        (5, [("schedule", schedule.pk), ("engineer", alice.pk)]),
        (30, [("team_all", team.pk), ("slack_channel", "C123")]),
    ]
    html = admin_client_.get(url).content.decode()
    assert "Step 1 — page on call in Core / Primary, Alice; wait 5 min, then step 2" in html


def test_service_page_urgency_form_and_copyable_inbound_urls(admin_client_: Client) -> None:
    service = ServiceFactory(name="api")
    integration = IntegrationFactory(service=service, kind="alertmanager", name="prom")
    url = f"/admin/paging/service/{service.pk}/change/"
    html = admin_client_.get(url).content.decode()
    assert "urgency_rules" not in html  # no JSON box
    assert integration.inbound_url in html and 'data-copy="copy-' in html
    assert "onclick" not in html and "/static/paging/copy.js" in html
    response = admin_client_.post(
        url,
        {
            "name": "api",
            "description": "",
            "team": service.team_id,
            "escalation_policy": "",
            "urgency_critical": "high",
            "urgency_error": "low",
            "urgency_warning": "low",
            "urgency_info": "low",
            "ack_timeout_minutes": "",
            "integrations-TOTAL_FORMS": "1",
            "integrations-INITIAL_FORMS": "1",
            "integrations-MIN_NUM_FORMS": "0",
            "integrations-MAX_NUM_FORMS": "1000",
            "integrations-0-id": str(integration.pk),
            "integrations-0-service": str(service.pk),
            "integrations-0-kind": "alertmanager",
            "integrations-0-name": "prom",
            "integrations-0-grouping": "group",
            "integrations-0-rate_limit_per_minute": "120",
            "integrations-0-sns_topic_arns": "",  # emptied: no topics
            "maintenance_windows-TOTAL_FORMS": "0",
            "maintenance_windows-INITIAL_FORMS": "0",
            "maintenance_windows-MIN_NUM_FORMS": "0",
            "maintenance_windows-MAX_NUM_FORMS": "1000",
            "priority_policies-TOTAL_FORMS": "0",
            "priority_policies-INITIAL_FORMS": "0",
            "priority_policies-MIN_NUM_FORMS": "0",
            "priority_policies-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(pk=service.pk)
    assert service.urgency_rules == {
        "critical": "high",
        "error": "low",
        "warning": "low",
        "info": "low",
    }
    assert service.urgency_for("error") == "low"


def test_sns_topics_are_one_arn_a_line_not_a_json_box(admin_client_: Client) -> None:
    from paging.models import Integration
    from tests.paging.test_rules_admin import form_data

    integration = IntegrationFactory(kind=Integration.Kind.SNS, name="cloudwatch")
    url = f"/admin/paging/integration/{integration.pk}/change/"
    topics = [
        "arn:aws:sns:eu-central-1:123456789012:platform-alarms",
        "arn:aws:sns:us-east-1:123456789012:oncall-alarms",
    ]
    data = form_data(integration, [])
    data["sns_topic_arns"] = f"  {topics[0]}\r\n\r\n{topics[1]}\r\n"
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    integration.refresh_from_db()
    assert integration.sns_topic_arns == topics
    # Shown back one a line, no brackets or quotes.
    html = admin_client_.get(url).content.decode()
    assert f">\n{topics[0]}\n{topics[1]}</textarea>" in html
    assert "[&quot;arn" not in html, html[html.find("[&quot;arn") - 300 :][:400]
    # A bad line is a field error naming it; nothing saved.
    data["sns_topic_arns"] = f"{topics[0]}\nnot-an-arn"
    response = admin_client_.post(url, data)
    assert response.status_code == 200
    assert "item 2 is not an SNS topic ARN" in response.content.decode()
    integration.refresh_from_db()
    assert integration.sns_topic_arns == topics
