"""The dashboard in headless Chromium draws its charts with the data, in minutes, and
fits at 1280x800 and 390x844."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from schedules import services as schedule_services
from tests.analytics.test_metrics import PERIOD
from tests.browser import DESKTOP, SIZES, browser_marks, check_layout, logged_in_page
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = browser_marks

CHARTS_JS = """() => ["chart-over-time", "chart-per-service"].map((id) => {
    const chart = Chart.getChart(id);
    const canvas = document.getElementById(id);
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
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


@pytest.fixture
def dashboard_url(live_server, transactional_db, request) -> str:
    request.getfixturevalue("cast")  # the hand-computed incidents (8, in two services)
    return (
        f"{live_server.url}/analytics/?start={PERIOD.start.date()}&end={PERIOD.end.date()}&by=day"
    )


def test_dashboard_charts_render_with_data(live_server, dashboard_url):
    with logged_in_page(live_server, UserFactory(), DESKTOP) as page:
        page.goto(dashboard_url)
        page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
        charts = page.evaluate(CHARTS_JS)
        count = page.inner_text("#incident-count")
        assert page.problems == []
    assert count == "8"
    over_time, per_service = charts
    assert over_time["type"] == "line"
    assert over_time["labels"] == ["2026-01-05"]  # one point: still drawn (painted below)
    # MTTA mean 200 s = 3.3 min, MTTR mean 1290 s = 21.5 min (one decimal, as on the page).
    assert over_time["datasets"][0] == ["MTTA mean", [3.3]]
    assert over_time["datasets"][2] == ["MTTR mean", [21.5]]
    assert per_service["type"] == "bar"
    assert per_service["labels"] == ["api", "billing"]
    assert per_service["datasets"][0] == ["MTTA", [4.5, 1.0]]
    for chart in charts:
        assert chart["width"] > 0
        assert chart["painted"] > 500  # pixels drawn on the canvas, not a blank one


@pytest.mark.parametrize("size", list(SIZES))
def test_dashboard_layout(live_server, dashboard_url, size):
    # A superuser: the admin's navigation sidebar (every app) takes its room at 1280 px;
    # engineers with real-world long names and zones.
    user = UserFactory(is_staff=True, is_superuser=True)
    long_named = EngineerFactory(
        display_name="Alexandra Montgomery-Whitaker", time_zone="America/Argentina/Buenos_Aires"
    )
    team = TeamFactory()
    MembershipFactory(team=team, engineer=long_named)
    with time_machine.travel(PERIOD.start - timedelta(days=1), tick=False):
        schedule = schedule_services.schedule_create(
            team=team, name="Primary", time_zone="America/Argentina/Buenos_Aires"
        )
        schedule_services.layer_create(
            schedule=schedule, name="Weekly", start_date=PERIOD.start.date(), members=[long_named]
        )
    with logged_in_page(live_server, user, SIZES[size]) as page:
        page.goto(dashboard_url)
        page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
        assert page.locator("#card-escalation").inner_text() == "25%"
        assert "oncall" in page.locator("#site-name").inner_text()
        for chart in ("#chart-over-time", "#chart-per-service"):
            assert page.locator(chart).bounding_box()["width"] > 300
        check_layout(page, "analytics-dashboard")
        if SIZES[size] == DESKTOP:
            # On a desktop every table fits its box: no column behind a sideways scroll.
            hidden = page.eval_on_selector_all(
                ".table-wrap",
                "els => els.filter(e => e.scrollWidth > e.clientWidth)"
                ".map(e => `${e.firstElementChild.id}: ${e.scrollWidth - e.clientWidth}px`)",
            )
            assert hidden == []
        assert page.problems == []
