"""The policy and service pages in headless Chromium at 1280x800 and 390x844: no
horizontal overflow, steps numbered from 1, a copy button that copies the inbound URL."""

from __future__ import annotations

import pytest

from paging.policy_writes import StepSpec, TargetSpec, policy_save
from tests.browser import HAS_CHROMIUM, check_viewports, signed_in_page
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAS_CHROMIUM, reason="/usr/bin/chromium is absent"),
]


def test_policy_and_service_pages(live_server):
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    policy = policy_save(
        policy=None,
        fields={"name": "Primary"},
        steps=[
            StepSpec(delay_minutes=10, targets=[TargetSpec("engineer", engineer_id=alice.pk)]),
            StepSpec(delay_minutes=15, targets=[TargetSpec("engineer", engineer_id=bob.pk)]),
        ],
    )
    service = ServiceFactory(name="api", escalation_policy=policy)
    integration = IntegrationFactory(service=service, kind="alertmanager", name="prometheus")
    IntegrationFactory(service=service, kind="pagerduty", name="pd")
    admin = UserFactory(is_staff=True, is_superuser=True)
    policy_url = f"{live_server.url}/admin/paging/escalationpolicy/{policy.pk}/change/"
    service_url = f"{live_server.url}/admin/paging/service/{service.pk}/change/"
    with signed_in_page(live_server.url, admin) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        check_viewports(page, policy_url, "policy-page")
        summary = page.locator("ol.policy-steps").inner_text()
        assert "Step 1 — page Alice; wait 10 min, then step 2" in summary
        assert "Step 2 — page Bob; wait 15 min, then stop" in summary
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#steps-0").screenshot(path="var/screenshots/policy-step-phone.png")
        check_viewports(page, service_url, "service-page")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(service_url)
        button = page.get_by_role("button", name="Copy the inbound url of api / prometheus")
        button.click()
        page.wait_for_selector("button[data-copied]")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert page.errors == []
    assert copied == integration.inbound_url
