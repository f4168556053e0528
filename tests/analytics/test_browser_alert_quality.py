"""The dashboard's alert-quality card and tables, the policy page's unresolved steps and
the resolve confirmation's resolution, in headless Chromium at 1280x800 and 390x844."""

from __future__ import annotations

import pytest

from paging.models import Incident
from paging.policy_writes import StepSpec, TargetSpec, UnresolvedSpec, policy_save
from tests.analytics.test_alert_quality import RANGE, dataset  # noqa: F401 - a fixture
from tests.browser import SIZES, browser_marks, check_layout, logged_in_page
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import IncidentFactory, ServiceFactory

pytestmark = browser_marks


@pytest.mark.parametrize("size", list(SIZES))
def test_dashboard_alert_quality_layout(live_server, transactional_db, dataset, size):  # noqa: F811
    url = f"{live_server.url}/analytics/?start={RANGE['start']}&end={RANGE['end']}"
    with logged_in_page(live_server, UserFactory(is_staff=True), SIZES[size]) as page:
        page.goto(url.replace("+", "%2B"))
        page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
        assert page.locator("#card-false-positive").inner_text() == "28.6%"
        api_row = page.locator("#alert-quality tbody tr").first
        assert "api" in api_row.inner_text() and "40%" in api_row.inner_text()
        assert page.locator("#noisy-alerts tbody tr").count() == 4
        page.locator("#alert-quality").scroll_into_view_if_needed()
        check_layout(page, "analytics-alert-quality")
        # The new panels alone, to look at them at phone size too.
        for panel in ("alert-quality", "noisy-alerts"):
            page.locator(f"#{panel}").screenshot(path=f"var/screenshots/{panel}-{size}.png")
        assert page.problems == []


@pytest.mark.parametrize("size", list(SIZES))
def test_policy_page_unresolved_steps_and_resolve_confirm(live_server, transactional_db, size):
    carol = EngineerFactory(display_name="Carol Manager")
    policy = policy_save(
        policy=None,
        fields={"name": "Primary"},
        steps=[StepSpec(10, [TargetSpec("engineer", carol.pk)])],
        unresolved=[
            UnresolvedSpec(30, TargetSpec("engineer", carol.pk), priorities=(1, 2)),
            UnresolvedSpec(60, TargetSpec("slack_channel", address="C0LEADS")),
        ],
    )
    incident = IncidentFactory(service=ServiceFactory(escalation_policy=policy))
    admin = UserFactory(is_staff=True, is_superuser=True)
    with logged_in_page(live_server, admin, SIZES[size]) as page:
        page.goto(f"{live_server.url}/admin/paging/escalationpolicy/{policy.pk}/change/")
        group = page.locator("#unresolved_steps-group")
        assert group.is_visible()
        assert page.locator("#id_unresolved_steps-0-after_minutes").input_value() == "30"
        assert page.locator("#id_unresolved_steps-1-address").input_value() == "C0LEADS"
        group.scroll_into_view_if_needed()
        check_layout(page, "policy-unresolved-steps")

        page.goto(f"{live_server.url}/admin/paging/incident/{incident.pk}/change/")
        page.get_by_role("button", name="Resolve").first.click()
        page.get_by_label("Resolution").select_option("false_positive")
        check_layout(page, "incident-resolve-confirm")
        page.get_by_role("button", name="Yes, resolve").click()
        page.wait_for_url(f"**/admin/paging/incident/{incident.pk}/change/")
        assert (
            "False positive" in page.locator(".incident-header, #content-main").first.inner_text()
        )
        assert page.problems == []
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.status, incident.resolution) == ("resolved", "false_positive")
