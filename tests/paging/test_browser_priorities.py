"""Priorities in headless Chromium: the incident page's select (with the confirm step when
the escalation moves), the incident list's column, and the dashboard's attainment table;
outcomes checked in the database; layout and screenshots at 1280x800 and 390x844."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.models import SlaTarget
from paging.models import Incident, PriorityLevel, ServicePriorityPolicy
from tests.analytics.conftest import T, make_incident
from tests.browser import (
    DESKTOP,
    SCREENSHOTS,
    SIZES,
    browser_marks,
    check_layout,
    logged_in_page,
)
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder, fire

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def levels() -> None:
    for level, name, ack, resolve in [
        (1, "SEV1", 5, 60),
        (2, "SEV2", 15, 240),
        (3, "SEV3", 60, 1440),
        (4, "SEV4", 240, None),
    ]:
        PriorityLevel.objects.create(
            level=level, name=name, ack_within_minutes=ack, resolve_within_minutes=resolve
        )


@pytest.fixture
def lena():
    return EngineerFactory(
        display_name="Lena",
        time_zone="Europe/Berlin",
        user=UserFactory(username="lena", is_staff=True, is_superuser=True),
    )


def test_set_priority_from_the_incident_page(live_server, lena, levels):
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(name="checkout-api", escalation_policy=policy_with_steps([alice]))
    urgent = policy_with_steps([alice], delay_minutes=5)
    urgent.name = "checkout-urgent"
    urgent.save()
    ServicePriorityPolicy.objects.create(service=service, priority=1, escalation_policy=urgent)
    incident = fire(service, key="node-not-ready")
    url = f"{live_server.url}/admin/paging/incident/{incident.pk}/change/"
    with logged_in_page(live_server, lena.user, DESKTOP) as page:
        page.goto(url)
        page.get_by_label("Priority", exact=True).select_option(label="P2 (SEV2)")
        page.get_by_role("button", name="Set priority").click()
        page.wait_for_load_state()
        assert "Priority set to P2 (SEV2) by Lena" in page.locator("ul.messagelist").inner_text()
        assert page.locator("#incident-priority").inner_text() == "P2 (SEV2)"
        assert Incident.objects.get(pk=incident.pk).priority == 2

        page.get_by_label("Priority", exact=True).select_option(label="P1 (SEV1)")
        page.get_by_role("button", name="Set priority").click()
        page.wait_for_load_state()
        assert "follow the escalation policy 'checkout-urgent'" in page.content()
        check_layout(page, "incident-priority-confirm")
        page.get_by_role("button", name="Yes, set priority").click()
        page.wait_for_load_state()
        message = page.locator("ul.messagelist").inner_text()
        assert "escalation moved to 'checkout-urgent'" in message
        row = page.locator("#timeline tbody tr", has_text="Priority changed").last.inner_text()
        assert "P2 (SEV2) -> P1 (SEV1)" in row and "Lena" in row
        check_layout(page, "incident-priority-set")
        assert page.problems == []
    incident.refresh_from_db()
    assert (incident.priority, incident.escalation_policy_id) == (1, urgent.pk)


@pytest.mark.parametrize("size", list(SIZES))
def test_incident_page_and_list_layout_with_priorities(live_server, lena, levels, size):
    alice = engineer_with_ladder("Alice", "+14155550001")
    policy = policy_with_steps([alice])
    service = ServiceFactory(name="payments-worker-eu-west-1", escalation_policy=policy)
    graded = fire(service, key="a")
    Incident.objects.filter(pk=graded.pk).update(priority=1)
    fire(service, key="b")
    with logged_in_page(live_server, lena.user, SIZES[size]) as page:
        page.goto(f"{live_server.url}/admin/paging/incident/{graded.pk}/change/")
        assert page.locator(".incident-priority").inner_text() == "P1 (SEV1)"
        check_layout(page, "incident-page-priority")
        page.goto(f"{live_server.url}/admin/paging/incident/")
        check_layout(page, "incident-list-priority")
        assert page.problems == []


@pytest.mark.parametrize("size", list(SIZES))
def test_dashboard_attainment_by_priority_layout(live_server, levels, size):
    service = ServiceFactory(name="checkout-api")
    SlaTarget.objects.create(urgency="high", ack_within_minutes=5)
    for priority, ack, resolve in [
        (1, 60, 1800),
        (1, 400, 4000),
        (1, 120, None),
        (2, 600, 7200),
        (2, 1200, 20000),
        (3, 1800, 30000),
        (None, 30, 300),
    ]:
        make_incident(service, created=T, priority=priority, ack=ack, resolve=resolve)
    start, end = (T - timedelta(days=1)).date(), (T + timedelta(days=1)).date()
    url = f"{live_server.url}/analytics/?start={start}&end={end}&by=day"
    with logged_in_page(live_server, UserFactory(is_staff=True), SIZES[size]) as page:
        page.goto(url)
        page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
        first = page.locator("#sla-priority tbody tr").first
        assert first.locator("th").inner_text() == "P1 · SEV1"
        # Acknowledged: 2 of 3 in 5 minutes; resolved: 1 of 3 in an hour (one still open).
        attainment = first.locator("td.attainment").all_inner_texts()
        assert [text.strip() for text in attainment] == ["66.7%", "33.3%"]
        check_layout(page, "analytics-sla-priority")
        table = page.locator("#sla-priority")
        table.screenshot(path=str(SCREENSHOTS / f"analytics-sla-priority-table-{size}.png"))
        assert page.problems == []
