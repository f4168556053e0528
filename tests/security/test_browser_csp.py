"""Headless Chromium (Debian's ``chromium``, driven by Playwright) on the live server
under the Content-Security-Policy: the admin, the analytics dashboard, /api/docs/, the
browsable API and an ack link page load and work, with no CSP violation reported."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import timezone

from paging.channels.links.tokens import link_token
from schedules import services
from tests.browser import BROWSER_MARKS, CSP_LISTENER, SCREENSHOTS, signed_in_page
from tests.factories import EngineerFactory, TeamFactory, UserFactory
from tests.paging.factories import IncidentFactory, IntegrationFactory

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(live_server):
    admin = UserFactory(is_staff=True, is_superuser=True, username="root")
    console: list[str] = []
    with signed_in_page(live_server.url, admin, viewport={"width": 1280, "height": 800}) as page:
        page.add_init_script(CSP_LISTENER)
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        yield page, console


def visit(page, console: list[str], url: str, *, ready: str, shot: str) -> None:
    console.clear()
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(ready, timeout=15000)
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"csp-{shot}.png"), full_page=False)
    violations = page.evaluate("window.__csp")
    problems = [m for m in console if "Content Security Policy" in m or m.startswith("pageerror")]
    assert violations == [] and problems == [], (url, violations, problems)


def test_pages_work_under_the_csp_without_violations(live_server, browser_page) -> None:
    page, console = browser_page
    base = live_server.url
    team = TeamFactory(name="Core")
    alice = EngineerFactory(display_name="Alice")
    schedule = services.schedule_create(team=team, name="Primary", time_zone="UTC")
    services.layer_create(
        schedule=schedule,
        name="Days",
        start_date=timezone.now().date(),
        handoff_time=time(9),
        shift_unit="days",
        members=[alice],
    )
    incident = IncidentFactory()
    integration = IntegrationFactory(service=incident.service)
    link = link_token(incident_id=incident.pk, engineer_id=alice.pk, action="acknowledge")

    visit(page, console, f"{base}/admin/", ready="#content-main", shot="admin-index")
    visit(
        page,
        console,
        f"{base}/admin/paging/integration/{integration.pk}/change/",
        ready="#integration_form",
        shot="admin-integration",
    )
    visit(
        page,
        console,
        f"{base}/admin/paging/incident/{incident.pk}/change/",
        ready="#content-main",
        shot="admin-incident",
    )
    visit(
        page,
        console,
        f"{base}/admin/schedules/schedule/{schedule.pk}/change/",
        ready="#schedule-timeline .tl-bar",
        shot="admin-schedule",
    )
    # The timeline's style sheet and script apply: bars are placed from their data- attributes.
    left = page.eval_on_selector("#schedule-timeline .tl-bar", "e => getComputedStyle(e).left")
    assert left.endswith("px") and left != "auto"
    visit(page, console, f"{base}/analytics/", ready="canvas", shot="analytics")
    visit(page, console, f"{base}/api/docs/", ready=".swagger-ui .info .title", shot="api-docs")
    assert page.locator(".opblock").count() > 10  # the operations rendered from the schema
    visit(page, console, f"{base}/api/v1/", ready=".response-info", shot="browsable-api")
    visit(page, console, f"{base}/l/{link}/", ready="form button", shot="ack-link")
    assert page.eval_on_selector("button", "e => getComputedStyle(e).borderRadius") == "6px"


def test_admin_login_page_and_the_lockout_work_in_the_browser(live_server, browser_page) -> None:
    page, console = browser_page
    page.context.clear_cookies()
    visit(page, console, f"{live_server.url}/admin/login/", ready="#login-form", shot="login")
    page.fill("#id_username", "root")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    assert page.locator(".errornote").count() == 1
    assert page.evaluate("window.__csp") == []
