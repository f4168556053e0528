"""The integration page with its alert rules and the rules test box, in headless Chromium
at 1280x800 and 390x844: nothing overflows or is squeezed; the test box answers on a
server-rendered page; screenshots under var/screenshots/rules-*."""

from __future__ import annotations

import json

import pytest

from paging.models import Integration
from tests.browser import HAS_CHROMIUM, VIEWPORTS, check_layout, signed_in_page
from tests.factories import UserFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory
from tests.paging.rules_helpers import am, inhibition_set, message, rules_set

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAS_CHROMIUM, reason="/usr/bin/chromium is absent"),
]


def test_rules_page_and_test_box(live_server):
    from schedules.models import HolidayCalendar

    HolidayCalendar.objects.create(name="Germany")
    ServiceFactory(name="postgresql")
    ServiceFactory(name="security")
    integration = IntegrationFactory(
        service=ServiceFactory(name="kubernetes"),
        kind="alertmanager",
        name="prometheus",
        grouping=Integration.Grouping.ALERT,
    )
    runbook = "https://runbooks.example.com/{{ labels.alertname }}/{{ labels.instance }}"
    rules_set(
        integration,
        [
            {
                "name": "runbook link",
                "conditions": ['alertname=~".+"'],
                "actions": {"links": [{"text": "Runbook", "href": runbook}]},
                "continue": True,
            },
            {
                "name": "security alerts to the security team",
                "conditions": ['service="security"'],
                "actions": {"service": "security", "priority": 1},
            },
            {
                "name": "postgresql alerts to the database team",
                "conditions": ['service="postgresql"', 'env in "prod", "staging"'],
                "actions": {"service": "postgresql", "dedup_key": "{{ labels.instance }}"},
            },
            {
                "name": "warnings page at once in office hours",
                "conditions": [
                    'severity="warning"',
                    {"op": "business_hours", "calendar": "Germany", "time_zone": "Europe/Berlin"},
                ],
                "actions": {"urgency": "high"},
            },
            {
                "name": "info is recorded, nobody is paged",
                "conditions": ['severity="info"'],
                "actions": {"suppress": True},
            },
        ],
    )
    inhibition_set(
        name="critical mutes warnings of its instance",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["instance"],
    )
    sample = json.dumps(
        message(
            am("aaaa000000000001", service="postgresql", env="prod", instance="db-1:5432"),
            am("bbbb000000000002", severity="info", instance="web-3:8080"),
            am("cccc000000000003", service="security", alertname="SshBruteForce"),
        ),
        indent=2,
    )
    admin = UserFactory(is_staff=True, is_superuser=True)
    url = f"{live_server.url}/admin/paging/integration/{integration.pk}/change/"
    with signed_in_page(live_server.url, admin) as page:
        for label, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            page.goto(url)
            page.wait_for_selector("#rules-test-title")
            check_layout(page, f"rules-integration-{label}")
            page.locator("#rules-2").screenshot(path=f"var/screenshots/rules-one-rule-{label}.png")
            page.locator(".rules-test-box").screenshot(
                path=f"var/screenshots/rules-test-box-{label}.png"
            )
            page.get_by_label("Sample alert (JSON, as the alert source sends it)").fill(sample)
            page.get_by_role("button", name="Test the saved rules").click()
            page.wait_for_selector(".rules-trial")
            check_layout(page, f"rules-test-result-{label}")
            page.locator(".rules-trial").first.screenshot(
                path=f"var/screenshots/rules-one-result-{label}.png"
            )
            text = page.locator("#content-main").inner_text()
            assert "3 alerts in the sample" in text
            assert "nobody: rule info is recorded, nobody is paged" in text
            assert "db-1%3A5432" in text  # the runbook link, the value quoted
            page.goto(f"{live_server.url}/admin/paging/inhibitrule/")
            page.wait_for_selector("#result_list")
            check_layout(page, f"rules-inhibit-list-{label}")
        assert page.errors == []
