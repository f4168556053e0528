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
    assert "Escalation rate<b>25%</b>" in html  # a4 and b2 of 8
    assert "<td>api</td><td>5</td><td>270.0</td>" in html
    assert "analytics/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    start = html.index('<script id="chart-data" type="application/json">') + len(
        '<script id="chart-data" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["labels"] == ["2026-01-05"]
    assert data["mtta_mean"] == [round(200 / 60, 2)]
    assert data["services"] == ["api", "billing"]


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
    assert "Site administration" in html
    assert c.get("/admin/analytics/slatarget/add/").status_code == 200
    r = c.get("/admin/analytics/reviewtemplate/add/")
    assert "Post-incident review" in r.content.decode()


def test_plain_staff_sees_the_dashboard_link(db):
    c = Client()
    c.force_login(UserFactory(is_staff=True))
    html = c.get("/admin/").content.decode()
    assert 'href="/admin/analytics/dashboardlink/"' in html
