"""False-positive rate, escalation rate per service and the noisiest alert names, on a
hand-counted set of incidents (API, CSV, dashboard)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from analytics.filters import MetricFilter
from analytics.noise import alert_quality
from tests.analytics.conftest import T, make_incident
from tests.factories import UserFactory
from tests.paging.factories import ServiceFactory

pytestmark = pytest.mark.django_db

PERIOD = MetricFilter(start=T - timedelta(days=1), end=T + timedelta(days=1))
RANGE = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}


def labelled(name: str) -> dict:
    return {"labels": {"alertname": name, "instance": "node-1"}}


@pytest.fixture
def dataset():
    """api: 6 incidents, 5 classified, 2 false positives (40%), 3 escalated (50%).
    web: 3 incidents, 2 classified, none false (0%), 0 escalated. Outside the period,
    in maintenance or suppressed: one each, all false positives, counted nowhere."""
    api, web = ServiceFactory(name="api"), ServiceFactory(name="web")
    at = T
    rows = [
        # service, resolution, escalation step/loop, details, title
        (api, "false_positive", (1, 0), labelled("DiskFull"), "disk 91% on node-1"),
        (api, "false_positive", (2, 0), labelled("DiskFull"), "disk 95% on node-2"),
        (api, "fixed", (3, 0), labelled("HighLatency"), "p99 high"),
        (api, "duplicate", (1, 1), labelled("DiskFull"), "disk 97% on node-3"),
        (api, "no_action_needed", (1, 0), {}, "Backup late"),
        (api, None, (1, 0), {}, "Backup late"),  # resolved, not classified
        (web, "fixed", (1, 0), labelled("HighLatency"), "p99 high"),
        (web, "fixed", (0, 0), {"labels": {"alertname": ""}}, "Backup late"),  # blank name
        (web, None, (1, 0), {}, "Cert expiring"),  # still open
    ]
    for i, (service, resolution, (step, loop), details, title) in enumerate(rows):
        open_ = i == len(rows) - 1
        make_incident(
            service,
            created=at + timedelta(minutes=i),
            ack=60,
            resolve=None if open_ else 600,
            resolution=resolution,
            escalation_step=step,
            escalation_loop=loop,
            details=details,
            title=title,
        )
    for extra in (
        {"created": T - timedelta(days=3)},
        {"created": T, "in_maintenance": True},
        {"created": T, "suppressed_by": "rule 1"},
    ):
        make_incident(api, resolve=60, resolution="false_positive", title="ignored", **extra)
    return api, web


def test_alert_quality_figures(dataset) -> None:
    api, web = dataset
    quality = alert_quality(flt=PERIOD, top=3)
    assert quality["target_false_positive_rate"] == 0.05
    assert quality["overall"] == {
        "incidents": 9,
        "resolved": 8,
        "classified": 7,
        "false_positive": 2,
        "escalated": 3,
        "false_positive_rate": 0.2857,
        "meets_target": False,
        "escalation_rate": 0.3333,
    }
    rows = {r["service_name"]: r for r in quality["services"]}
    assert [r["service_name"] for r in quality["services"]] == ["api", "web"]
    assert {k: rows["api"][k] for k in ("incidents", "classified", "false_positive")} == {
        "incidents": 6,
        "classified": 5,
        "false_positive": 2,
    }
    assert (rows["api"]["false_positive_rate"], rows["api"]["meets_target"]) == (0.4, False)
    assert (rows["api"]["escalated"], rows["api"]["escalation_rate"]) == (3, 0.5)
    assert (rows["web"]["false_positive_rate"], rows["web"]["meets_target"]) == (0.0, True)
    assert (rows["web"]["escalation_rate"], rows["web"]["resolved"]) == (0.0, 2)
    # By incidents, then name; a blank alertname falls back to the title.
    assert quality["alerts"] == [
        {
            "alert_name": "Backup late",
            "incidents": 3,
            "classified": 2,
            "false_positive": 0,
            "false_positive_share": 0.0,
        },
        {
            "alert_name": "DiskFull",
            "incidents": 3,
            "classified": 3,
            "false_positive": 2,
            "false_positive_share": 0.6667,
        },
        {
            "alert_name": "HighLatency",
            "incidents": 2,
            "classified": 2,
            "false_positive": 0,
            "false_positive_share": 0.0,
        },
    ]


def test_nothing_classified_gives_no_verdict() -> None:
    make_incident(ServiceFactory(name="quiet"), created=T, resolve=60)
    overall = alert_quality(flt=PERIOD)["overall"]
    assert (overall["false_positive_rate"], overall["meets_target"]) == (None, None)


@pytest.fixture
def api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def test_alert_quality_endpoint(dataset, api_client) -> None:
    api, _ = dataset
    response = api_client.get("/api/v1/analytics/alert-quality", {**RANGE, "top": "1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["target_false_positive_rate"] == 0.05
    assert body["overall"]["false_positive_rate"] == 0.2857
    assert [r["service_name"] for r in body["rows"]] == ["api", "web"]
    assert [a["alert_name"] for a in body["alerts"]] == ["Backup late"]
    # The usual filters apply: one service.
    only = api_client.get("/api/v1/analytics/alert-quality", {**RANGE, "service": api.pk}).json()
    assert only["overall"]["incidents"] == 6
    assert only["overall"]["false_positive_rate"] == 0.4


@pytest.mark.parametrize(
    ("params", "field"),
    [({"top": "0"}, "top"), ({"top": "x"}, "top"), ({"top": "101"}, "top"), ({"tz": "Mars"}, "tz")],
)
def test_alert_quality_bad_parameters_are_400_naming_them(api_client, params, field) -> None:
    response = api_client.get("/api/v1/analytics/alert-quality", {**RANGE, **params})
    assert response.status_code == 400
    assert field in response.json()


def test_alert_quality_csv_has_a_row_per_service(dataset, api_client) -> None:
    response = api_client.get("/api/v1/analytics/alert-quality", {**RANGE, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["service_name"], r["false_positive_rate"]) for r in rows] == [
        ("api", "0.4"),
        ("web", "0.0"),
    ]


def test_dashboard_shows_the_rates_with_the_target(dataset, client: Client) -> None:
    client.force_login(UserFactory(is_staff=True))
    page = client.get("/analytics/", {**RANGE}).content.decode()
    assert "False positives (target &lt; 5%)" in page
    assert '<b id="card-false-positive">28.6%</b>' in page
    assert "2 of 7 classified · over target" in page
    assert "Alert quality per service" in page and "Noisiest alerts" in page
    assert '40% <span class="flag">over target</span>' in page
    assert '<th scope="row" class="alert-name">DiskFull</th>' in page
