"""The dashboard in headless Chromium draws its charts with the data."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.test import Client

from tests.analytics.test_metrics import PERIOD
from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: apt-get install -y chromium chromium-driver",
    ),
]


def test_dashboard_charts_render_with_data(live_server, transactional_db, request):
    playwright_api = pytest.importorskip("playwright.sync_api")
    request.getfixturevalue("cast")  # the hand-computed incidents (8, in two services)
    client = Client()
    client.force_login(UserFactory())
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"{live_server.url}/analytics/?start={PERIOD.start.date()}&end={PERIOD.end.date()}&by=day"
    # No database access from here on: Playwright's sync API runs an event loop.
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
            page.goto(url)
            page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
            charts = page.evaluate(
                """() => ["chart-over-time", "chart-per-service"].map((id) => {
                    const chart = Chart.getChart(id);
                    const canvas = document.getElementById(id);
                    const px = canvas.getContext("2d")
                        .getImageData(0, 0, canvas.width, canvas.height).data;
                    let painted = 0;
                    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
                    return {
                        type: chart.config.type,
                        labels: chart.data.labels,
                        datasets: chart.data.datasets.map((d) => [d.label, d.data]),
                        width: canvas.width,
                        painted: painted,
                    };
                })"""
            )
            count = page.inner_text("#incident-count")
        finally:
            browser.close()
    assert errors == []
    assert count == "8"
    over_time, per_service = charts
    assert over_time["type"] == "line"
    assert over_time["labels"] == ["2026-01-05"]
    # MTTA mean 200 s = 3.3 min, MTTR mean 1290 s = 21.5 min (one decimal, as on the page).
    assert over_time["datasets"][0] == ["MTTA mean", [3.3]]
    assert over_time["datasets"][2] == ["MTTR mean", [21.5]]
    assert per_service["type"] == "bar"
    assert per_service["labels"] == ["api", "billing"]
    assert per_service["datasets"][0] == ["MTTA", [4.5, 1.0]]
    for chart in charts:
        assert chart["width"] > 0
        assert chart["painted"] > 500  # pixels drawn on the canvas, not a blank one


@pytest.mark.parametrize("size", ["1280x800", "390x844"])
def test_dashboard_layout(live_server, transactional_db, request, monkeypatch, size):
    from tests.browser import VIEWPORTS, check_layout, logged_in_page

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    request.getfixturevalue("cast")
    url = f"{live_server.url}/analytics/?start={PERIOD.start.date()}&end={PERIOD.end.date()}&by=day"
    with logged_in_page(live_server, UserFactory(is_staff=True), VIEWPORTS[size]) as page:
        page.goto(url)
        page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
        assert page.locator("#card-escalation").inner_text() == "25%"
        assert "oncall" in page.locator("#site-name").inner_text()
        for chart in ("#chart-over-time", "#chart-per-service"):
            assert page.locator(chart).bounding_box()["width"] > 300
        check_layout(page, "analytics-dashboard")
        assert page.problems == []
