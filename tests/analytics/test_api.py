"""REST endpoints: JSON, CSV (?format=csv and Accept), 400s naming the field, auth."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from tests.analytics.test_metrics import PERIOD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RANGE = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}


@pytest.fixture
def client():
    c = APIClient()
    c.force_authenticate(UserFactory())
    return c


def test_response_times_json_by_service(cast, client):
    r = client.get("/api/v1/analytics/response-times", {**RANGE, "by": "service"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["by"] == "service"
    assert body["period"]["tz"] == "UTC"
    rows = {row["service_name"]: row for row in body["rows"]}
    assert rows["api"]["mtta"] == {
        "count": 4,
        "mean": 270.0,
        "p50": 210.0,
        "p90": 510.0,
        "p95": 555.0,
    }


def test_csv_by_format_parameter_and_by_accept_header(cast, client):
    r = client.get("/api/v1/analytics/response-times", {**RANGE, "by": "service", "format": "csv"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert 'filename="response-times.csv"' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["service_name"] for row in rows] == ["api", "billing"]
    assert rows[0]["mtta_p95"] == "555.0"
    assert rows[0]["mttr_mean"] == "1488.0"
    assert rows[1]["resolved_without_ack"] == "0"
    header = r.content.decode().splitlines()[0].split(",")
    assert header[:3] == ["service_id", "service_name", "incidents"]
    assert "mtta_count" in header and "mttr_p90" in header

    r = client.get(
        "/api/v1/analytics/response-times", {**RANGE, "by": "day"}, HTTP_ACCEPT="text/csv"
    )
    assert r["Content-Type"].startswith("text/csv")
    assert list(csv.DictReader(io.StringIO(r.content.decode())))[0]["bucket"] == "2026-01-05"


@pytest.mark.parametrize(
    "path",
    [
        "response-times",
        "escalation-rate",
        "time-to-first-page",
        "delivery",
        "sla",
        "oncall-load",
    ],
)
def test_every_endpoint_answers_json_and_csv(cast, client, path):
    r = client.get(f"/api/v1/analytics/{path}", RANGE)
    assert r.status_code == 200, r.content
    assert isinstance(r.json()["rows"], list)
    r = client.get(f"/api/v1/analytics/{path}", {**RANGE, "format": "csv"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "hour"}, "by"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "start"),
        ({"urgency": "urgent"}, "urgency"),
        ({"severity": "fatal"}, "severity"),
        ({"service": "abc"}, "service"),
        ({"days": "0"}, "days"),
        ({"team": "99999999999999999999"}, "team"),
        # Dates at the edge of datetime's range overflowed (500) when shifted.
        ({"end": "0001-01-01"}, "end"),
        ({"start": "0001-01-01", "end": "2026-01-05", "tz": "Asia/Tokyo"}, "start"),
        (
            {"start": "9999-12-20", "end": "9999-12-31T23:59:59", "tz": "America/Los_Angeles"},
            "end",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, params, field):
    r = client.get("/api/v1/analytics/response-times", params)
    assert r.status_code == 400
    assert field in r.json()


def test_bad_input_in_csv_is_still_a_400(client):
    r = client.get("/api/v1/analytics/response-times", {"by": "hour", "format": "csv"})
    assert r.status_code == 400
    assert "by" in r.content.decode()


def test_anonymous_is_refused(cast):
    r = APIClient().get("/api/v1/analytics/response-times")
    assert r.status_code == 401


def test_dates_are_local_midnights_in_the_given_zone(cast, client):
    r = client.get(
        "/api/v1/analytics/response-times",
        {"start": "2026-01-05", "end": "2026-01-06", "tz": "America/New_York"},
    )
    assert r.json()["period"]["start"] == "2026-01-05T00:00:00-05:00"
    assert r.json()["rows"][0]["incidents"] == 8
