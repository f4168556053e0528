"""SLA attainment by priority, with hand-computed figures; the priority filter and
breakdown of the other metrics; the endpoint and the dashboard table.

Levels: SEV1 ack 5 min (300 s) / resolve 60 min (3600 s); SEV2 15 (900 s) / 240 (14400 s);
SEV3 ack 60 min, no resolution target; SEV4 no targets. "Now" is one day after T.
Incidents, seconds after trigger (created at T unless said):
  P1 p1a ack 60 res 1800 (both met) | p1b ack 400 res 4000 (both late)
     p1c resolved at 200 without ack (ack: neither; resolve: met)
     p1d open, unacknowledged for a day (both overdue) | p1e in a maintenance window (left out)
  P2 p2a ack 900 res 14400 (exactly on target: met) | p2b ack 100, open a day (resolve overdue)
     p2c triggered a minute ago (within both: neither yet)
  P4 p4a ack 10000 res 20000 (no targets) | P5 p5a ack 30 (a level not in use: no targets)
  none: n1 ack 50 res 500, n2 open
P1: ack met 1 of 3 counted (33.33%), resolve met 2 of 4 (50%). P2: ack 2 of 2 (100%),
resolve 1 of 2 (50%).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from analytics.filters import MetricFilter
from analytics.metrics import response_times
from analytics.sla import sla_by_priority
from paging.models import PriorityLevel
from tests.analytics.conftest import T, make_incident
from tests.factories import UserFactory
from tests.paging.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = T + timedelta(days=1)
PERIOD = MetricFilter(start=T - timedelta(days=1), end=T + timedelta(days=2))
RANGE = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}


@pytest.fixture
def graded(db):
    for level, ack, resolve in [(1, 5, 60), (2, 15, 240), (3, 60, None), (4, None, None)]:
        PriorityLevel.objects.create(
            level=level, name=f"SEV{level}", ack_within_minutes=ack, resolve_within_minutes=resolve
        )
    service = ServiceFactory(name="db")
    make = lambda priority, **kw: make_incident(  # noqa: E731
        service, created=kw.pop("created", T), priority=priority, **kw
    )
    make(1, ack=60, resolve=1800)
    make(1, ack=400, resolve=4000)
    make(1, resolve=200)
    make(1)
    make(1, in_maintenance=True)
    make(2, ack=900, resolve=14400)
    make(2, ack=100)
    make(2, created=NOW - timedelta(minutes=1))
    make(4, ack=10000, resolve=20000)
    make(5, ack=30)
    make(None, ack=50, resolve=500)
    make(None)
    with time_machine.travel(NOW, tick=False):
        yield service


def row(priority, code, name, incidents, ack, resolve):
    """ack/resolve: (target minutes, met, breached, attainment)."""
    return {
        "priority": priority,
        "code": code,
        "name": name,
        "incidents": incidents,
        "ack_target_minutes": ack[0],
        "ack_met": ack[1],
        "ack_breached": ack[2],
        "ack_attainment": ack[3],
        "resolve_target_minutes": resolve[0],
        "resolve_met": resolve[1],
        "resolve_breached": resolve[2],
        "resolve_attainment": resolve[3],
    }


EXPECTED = [
    row(1, "P1", "SEV1", 4, (5, 1, 2, 0.3333), (60, 2, 2, 0.5)),
    row(2, "P2", "SEV2", 3, (15, 2, 0, 1.0), (240, 1, 1, 0.5)),
    row(3, "P3", "SEV3", 0, (60, 0, 0, None), (None, 0, 0, None)),
    row(4, "P4", "SEV4", 1, (None, 0, 0, None), (None, 0, 0, None)),
    row(5, "P5", "P5", 1, (None, 0, 0, None), (None, 0, 0, None)),
    row(None, None, "not graded", 2, (None, 0, 0, None), (None, 0, 0, None)),
]


def test_attainment_by_priority_exact(graded) -> None:
    assert sla_by_priority(flt=PERIOD) == EXPECTED


def test_with_the_default_levels(graded) -> None:
    PriorityLevel.objects.all().delete()
    rows = {r["code"]: r for r in sla_by_priority(flt=PERIOD)}
    # P2's defaults are SEV2's targets; P4's default 240 / 4320 min: p4a (167 / 333 min) met.
    assert rows["P2"] == {**EXPECTED[1], "name": "P2"}
    assert rows["P4"]["ack_attainment"] == rows["P4"]["resolve_attainment"] == 1.0
    assert rows["P5"]["ack_target_minutes"] == 1440


def test_metrics_filter_and_break_down_by_priority(graded) -> None:
    p1 = MetricFilter(start=PERIOD.start, end=PERIOD.end, priority=1)
    [overall] = response_times(flt=p1)
    assert (overall["incidents"], overall["mtta"]["mean"]) == (4, 230.0)  # (60 + 400) / 2
    by = {r["priority"]: r for r in response_times(flt=PERIOD, by="priority")}
    assert by[1]["priority_name"] == "SEV1" and by[5]["priority_name"] == "P5"
    assert by[None]["priority_name"] == "not graded"
    assert [by[p]["incidents"] for p in (1, 2, 4, 5, None)] == [4, 3, 1, 1, 2]


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def test_endpoint_json_and_csv(graded, api) -> None:
    response = api.get("/api/v1/analytics/sla-by-priority", RANGE)
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == EXPECTED
    response = api.get("/api/v1/analytics/sla-by-priority", {**RANGE, "format": "csv"})
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines[0]["ack_attainment"] == "0.3333" and lines[0]["name"] == "SEV1"
    only = api.get("/api/v1/analytics/sla-by-priority", {**RANGE, "priority": "sev2"}).json()
    assert [r["incidents"] for r in only["rows"]] == [0, 3, 0, 0]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("P9", "'P9' is not a priority"),
        ("P5", "P5 is not a priority in use here"),
        ("", "This field may not be blank."),
    ],
)
def test_a_bad_priority_parameter_is_a_400_naming_it(graded, api, value, reason) -> None:
    response = api.get("/api/v1/analytics/sla-by-priority", {**RANGE, "priority": value})
    assert response.status_code == 400
    [message] = response.json()["priority"]
    assert message.startswith(reason)


def test_dashboard_shows_attainment_by_priority(graded) -> None:
    client = Client()
    client.force_login(UserFactory())
    html = client.get("/analytics/", {**RANGE, "by": "day"}).content.decode()
    table = html[html.index('<table id="sla-priority">') :]
    table = table[: table.index("</table>")]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table)
    rows = [re.sub(r"<meter[^>]*></meter> ", "", c) for c in cells[12:]]  # after the head
    assert rows[:30] == [
        *("P1 · SEV1", "4", "5", "1", "2", "33.3%", "60", "2", "2", "50%"),
        *("P2 · SEV2", "3", "15", "2", "0", "100%", "240", "1", "1", "50%"),
        *("P3 · SEV3", "0", "60", "0", "0", "—", "—", "0", "0", "—"),
    ]
    assert rows[-10:] == ["not graded", "2", "—", "0", "0", "—", "—", "0", "0", "—"]
    assert '<meter min="0" max="1" value="0.3333" aria-hidden="true"></meter>' in table
