"""Dashboard page (server side) and its admin link."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.analytics.test_metrics import PERIOD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_dashboard_needs_login():
    r = Client().get("/analytics/")
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")


def test_dashboard_renders_tables_and_chart_data(cast):
    c = Client()
    c.force_login(UserFactory())
    r = c.get(
        "/analytics/",
        {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat(), "by": "day"},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="incident-count">8<' in html
    assert '<b id="card-escalation">25%</b>' in html  # a4 and b2 of 8
    # One unit on the page: minutes with one decimal (api MTTA mean 270 s = 4.5 min).
    assert "<td>api</td><td>5</td><td>4.5</td>" in html
    assert '<b id="card-mtta">3.3 / ' in html  # 200 s
    assert "All durations in <strong>minutes</strong>" in html
    assert "Pages in business hours" in html and "Pages in sleep" in html
    assert "Sleep hours" not in html
    # The admin's look: its header and stylesheet.
    assert "oncall — on-call schedules and paging" in html
    assert "admin/css/base.css" in html
    assert "analytics/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    start = html.index('<script id="chart-data" type="application/json">') + len(
        '<script id="chart-data" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["labels"] == ["2026-01-05"]
    assert data["mtta_mean"] == [3.3]
    assert data["services"] == ["api", "billing"]


def test_no_data_is_an_em_dash_and_rates_are_percentages(db):
    from django.template import Context, Template

    out = Template(
        "{% load analytics_format %}{{ a|minutes }} {{ b|percent }} {{ c|percent }} {{ d|percent }}"
    ).render(Context({"a": None, "b": None, "c": 0.6667, "d": 1.0}))
    assert out == "— — 66.7% 100%"


def test_dashboard_bad_parameter_is_400(db):
    c = Client()
    c.force_login(UserFactory())
    r = c.get("/analytics/", {"tz": "Nowhere/Land"})
    assert r.status_code == 400
    assert "tz" in r.content.decode()


@pytest.mark.parametrize(
    "params",
    [{"end": "0001-01-01"}, {"start": "9999-12-20", "end": "9999-12-31", "tz": "America/Denver"}],
)
def test_dashboard_out_of_range_dates_are_400_not_500(db, params):
    c = Client()
    c.force_login(UserFactory())
    r = c.get("/analytics/", params)
    assert r.status_code == 400
    assert "year must be between" in r.content.decode()


def test_chart_library_is_vendored():
    from django.contrib.staticfiles import finders

    path = finders.find("analytics/chart.umd.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as f:
        assert "Chart.js v4" in f.read(200)


def test_admin_index_links_to_dashboard(db):
    c = Client()
    c.force_login(UserFactory(is_staff=True, is_superuser=True))
    r = c.get("/admin/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'href="/admin/analytics/dashboardlink/"' in html
    assert ">Analytics dashboard<" in html
    assert c.get("/admin/analytics/dashboardlink/")["Location"] == "/analytics/"
    # The rest of the admin index is still there.
    assert "On call now" in html
    assert c.get("/admin/analytics/slatarget/add/").status_code == 200
    r = c.get("/admin/analytics/reviewtemplate/add/")
    assert "Post-incident review" in r.content.decode()


def test_plain_staff_sees_the_dashboard_link(db):
    c = Client()
    c.force_login(UserFactory(is_staff=True))
    html = c.get("/admin/").content.decode()
    assert 'href="/admin/analytics/dashboardlink/"' in html
