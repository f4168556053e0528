"""Hand-computed MTTA/MTTR, breakdowns, escalation, delivery, first page and SLA.

Cast (seconds after trigger), see conftest.py:
  api:     a1 ack 60 res 600 (Alice) | a2 ack 120 res 1200 (Alice) | a3 ack 300 res 1800 (Bob)
           a4 ack 600 res 3600 (Bob, escalated) | a5 resolved at 240 without ack
  billing: b1 ack 30 res 300 (Alice) | b2 ack 90 open (Bob, looped) | b3 open, low urgency
MTTA values [30, 60, 90, 120, 300, 600]; MTTR values [240, 300, 600, 1200, 1800, 3600].
percentile_cont: h = (n - 1) p, interpolate between sorted[floor h] and sorted[ceil h].
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from analytics.filters import MetricFilter
from analytics.metrics import (
    delivery_rates,
    escalation_rate,
    response_times,
    sla_attainment,
    time_to_first_page,
)
from analytics.models import SlaTarget
from analytics.percentiles import percentile_cont
from tests.analytics.conftest import T, make_incident, page

pytestmark = pytest.mark.django_db

PERIOD = MetricFilter(start=T - timedelta(days=1), end=T + timedelta(days=1))


def stats(count, mean, p50, p90, p95):
    return {"count": count, "mean": mean, "p50": p50, "p90": p90, "p95": p95}


def test_percentile_cont_matches_the_sql_definition():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.95) == 7.0
    assert percentile_cont([30, 60, 90, 120, 300, 600], 0.5) == 105
    assert percentile_cont([30, 60, 90, 120, 300, 600], 0.9) == pytest.approx(450)


def test_overall_mtta_mttr_exact(cast):
    [row] = response_times(flt=PERIOD)
    # MTTA: mean 1200/6 = 200; p50 h=2.5 -> 105; p90 h=4.5 -> 450; p95 h=4.75 -> 525.
    assert row["mtta"] == stats(6, 200.0, 105.0, 450.0, 525.0)
    # MTTR: mean 7740/6 = 1290; p50 h=2.5 -> 900; p90 -> 2700; p95 -> 3150.
    assert row["mttr"] == stats(6, 1290.0, 900.0, 2700.0, 3150.0)
    assert row["incidents"] == 8
    assert row["resolved"] == 6
    assert row["resolved_without_ack"] == 1


def test_resolved_without_ack_is_out_of_mtta_and_in_mttr(cast):
    flt = MetricFilter(start=PERIOD.start, end=PERIOD.end, service=cast.a.pk)
    [row] = response_times(flt=flt)
    assert row["mtta"]["count"] == 4  # a5 is not counted...
    assert row["mttr"]["count"] == 5  # ...but its resolve time is
    assert row["resolved_without_ack"] == 1


def test_by_service(cast):
    rows = {r["service_name"]: r for r in response_times(flt=PERIOD, by="service")}
    api, billing = rows["api"], rows["billing"]
    assert api["service_id"] == cast.a.pk
    # api MTTA [60,120,300,600]: mean 270; p50 h=1.5 -> 210; p90 h=2.7 -> 510; p95 -> 555
    assert api["mtta"] == stats(4, 270.0, 210.0, 510.0, 555.0)
    # api MTTR [240,600,1200,1800,3600]: mean 1488; p50 1200; p90 h=3.6 -> 2880; p95 -> 3240
    assert api["mttr"] == stats(5, 1488.0, 1200.0, 2880.0, 3240.0)
    # billing MTTA [30, 90]: mean 60; p90 h=0.9 -> 84; p95 -> 87. MTTR [300].
    assert billing["mtta"] == stats(2, 60.0, 60.0, 84.0, 87.0)
    assert billing["mttr"] == stats(1, 300.0, 300.0, 300.0, 300.0)
    assert billing["incidents"] == 3


def test_by_team_and_engineer(cast):
    teams = {r["team_name"]: r for r in response_times(flt=PERIOD, by="team")}
    assert set(teams) == {"Core", "Money"}
    assert teams["Money"]["mtta"]["mean"] == 60.0
    people = {r["engineer_name"]: r for r in response_times(flt=PERIOD, by="engineer")}
    # Alice acked a1 (60), a2 (120), b1 (30); Bob a3 (300), a4 (600), b2 (90).
    assert people["Alice"]["mtta"] == stats(3, 70.0, 60.0, 108.0, 114.0)
    assert people["Bob"]["mtta"] == stats(3, 330.0, 300.0, 540.0, 570.0)
    # Unacknowledged incidents (a5, b3) form the group without an engineer.
    assert people[None]["incidents"] == 2
    assert people[None]["mtta"]["count"] == 0
    assert people[None]["mttr"] == stats(1, 240.0, 240.0, 240.0, 240.0)


def test_filters(cast):
    def one(**kw):
        [row] = response_times(flt=MetricFilter(start=PERIOD.start, end=PERIOD.end, **kw))
        return row

    assert one(urgency="low")["incidents"] == 1
    assert one(severity="warning")["mtta"] == stats(1, 90.0, 90.0, 90.0, 90.0)
    assert one(engineer=cast.alice.pk)["mtta"]["mean"] == 70.0
    assert one(team=cast.b.team_id)["incidents"] == 3
    # The period is half-open on trigger time: a1 at T is in, everything from T+1h out.
    assert one(**{})["incidents"] == 8
    row = response_times(flt=MetricFilter(start=T, end=T + timedelta(seconds=3600)))[0]
    assert row["incidents"] == 2  # a1 and b1
    empty = response_times(flt=MetricFilter(start=T - timedelta(days=9), end=T))[0]
    assert empty["incidents"] == 0
    assert empty["mtta"] == stats(0, None, None, None, None)


def test_by_hour_buckets_in_utc(cast):
    rows = response_times(flt=PERIOD, by="day")
    assert [(r["bucket"], r["incidents"]) for r in rows] == [("2026-01-05", 8)]


def test_escalation_rate(cast):
    [row] = escalation_rate(flt=PERIOD)
    assert (row["incidents"], row["escalated"], row["escalation_rate"]) == (8, 2, 0.25)
    rows = {
        r["service_name"]: r["escalation_rate"] for r in escalation_rate(flt=PERIOD, by="service")
    }
    assert rows == {"api": 0.2, "billing": pytest.approx(0.3333)}


def test_delivery_rates_and_time_to_first_page(cast):
    i = cast.incidents
    page(i["a1"], kind="sms", status="sent", sent=20)
    page(i["a1"], kind="voice", status="delivered", sent=50)
    page(i["a3"], kind="sms", status="delivered", sent=45)
    page(i["a4"], kind="sms", status="failed", sent=None)
    page(i["a2"], kind="email", status="failed", sent=None)
    page(i["a2"], kind="email", status="cancelled", sent=None)
    rates = {r["channel"]: r for r in delivery_rates(flt=PERIOD)}
    assert rates["sms"]["delivered"] == 2 and rates["sms"]["failed"] == 1
    assert rates["sms"]["delivery_rate"] == pytest.approx(0.6667)
    assert rates["voice"]["delivery_rate"] == 1.0
    assert rates["email"]["delivery_rate"] == 0.0
    assert rates["email"]["cancelled"] == 1
    assert "console" not in rates


def test_console_deliveries_are_their_own_channel(cast):
    i = cast.incidents
    console = page(i["a1"], kind="slack", status="sent", sent=20)
    console.transport = "console"  # no Slack provider configured
    console.save(update_fields=["transport"])
    page(i["a3"], kind="slack", status="delivered", sent=45)
    rates = {r["channel"]: r for r in delivery_rates(flt=PERIOD)}
    # The console reached nobody's Slack: it is not counted as a Slack delivery.
    assert (rates["console"]["delivered"], rates["slack"]["delivered"]) == (1, 1)
    [row] = time_to_first_page(flt=PERIOD)
    # a1 first accepted page at +20 (not +50), a3 at +45; the others paged nobody.
    assert row["time_to_first_page"] == stats(2, 32.5, 32.5, 42.5, 43.75)


def test_sla_attainment_default_and_per_service_target(cast):
    SlaTarget.objects.create(service=cast.b, urgency="high", ack_within_minutes=1)
    with time_machine.travel(T + timedelta(days=1), tick=False):
        rows = {r["service_name"]: r for r in sla_attainment(flt=PERIOD)}
    # api uses the default 5 min: a1, a2, a3 (300 s, on the limit) met, a4 late; a5 is out.
    assert (rows["api"]["met"], rows["api"]["breached"], rows["api"]["attainment"]) == (3, 1, 0.75)
    assert rows["api"]["ack_target_minutes"] == 5
    # billing's own 1 min: b1 (30 s) met, b2 (90 s) late; b3 is low urgency: no target.
    assert (rows["billing"]["met"], rows["billing"]["breached"]) == (1, 1)
    assert rows["billing"]["ack_target_minutes"] == 1
    assert set(rows) == {"api", "billing"} and len(rows) == 2


def test_sla_counts_open_unacknowledged_past_target_as_breached(cast):
    svc = cast.a
    make_incident(svc, created=T + timedelta(hours=5))  # never acknowledged, still open
    with time_machine.travel(T + timedelta(hours=5, minutes=4), tick=False):
        [row] = [r for r in sla_attainment(flt=PERIOD) if r["service_name"] == "api"]
        assert row["breached"] == 1  # not yet past 5 min
    with time_machine.travel(T + timedelta(hours=5, minutes=6), tick=False):
        [row] = [r for r in sla_attainment(flt=PERIOD) if r["service_name"] == "api"]
        assert row["breached"] == 2


def test_day_buckets_follow_local_midnight_across_dst(db):
    from tests.paging.factories import ServiceFactory

    svc = ServiceFactory()
    # Europe/Berlin moves to CEST (UTC+2) at 2026-03-29 01:00 UTC.
    make_incident(svc, created=datetime(2026, 3, 28, 22, 30, tzinfo=UTC), ack=60)  # 23:30 CET, 28th
    make_incident(
        svc, created=datetime(2026, 3, 28, 23, 30, tzinfo=UTC), ack=120
    )  # 00:30 CET, 29th
    make_incident(
        svc, created=datetime(2026, 3, 29, 21, 30, tzinfo=UTC), ack=180
    )  # 23:30 CEST, 29th
    make_incident(
        svc, created=datetime(2026, 3, 29, 22, 30, tzinfo=UTC), ack=240
    )  # 00:30 CEST, 30th
    flt = MetricFilter(
        start=datetime(2026, 3, 27, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
        tz=ZoneInfo("Europe/Berlin"),
    )
    rows = response_times(flt=flt, by="day")
    assert [(r["bucket"], r["incidents"], r["mtta"]["mean"]) for r in rows] == [
        ("2026-03-28", 1, 60.0),
        ("2026-03-29", 2, 150.0),
        ("2026-03-30", 1, 240.0),
    ]
    assert rows[1]["bucket_start"] == "2026-03-29T00:00:00+01:00"
    assert rows[2]["bucket_start"] == "2026-03-30T00:00:00+02:00"
    utc = response_times(flt=MetricFilter(start=flt.start, end=flt.end), by="day")
    assert [(r["bucket"], r["incidents"]) for r in utc] == [("2026-03-28", 2), ("2026-03-29", 2)]
    weeks = response_times(flt=flt, by="week")
    assert [(r["bucket"], r["incidents"]) for r in weeks] == [("2026-03-23", 3), ("2026-03-30", 1)]
    months = response_times(flt=flt, by="month")
    assert [(r["bucket"], r["incidents"]) for r in months] == [("2026-03", 4)]


@pytest.mark.postgres
def test_postgres_uses_percentile_cont_in_one_query(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        rows = response_times(flt=PERIOD, by="service")
    # One aggregation query, plus one for the services' names.
    assert len(ctx.captured_queries) == 2
    assert "PERCENTILE_CONT(0.95) WITHIN GROUP" in ctx.captured_queries[0]["sql"]
    assert "paging_service" not in ctx.captured_queries[0]["sql"]
    assert {r["service_name"]: r["mtta"]["p90"] for r in rows} == {"api": 510.0, "billing": 84.0}


def test_mtta_uses_the_first_acknowledgement_across_ack_timeouts(db):
    from tests.paging.factories import ServiceFactory

    svc = ServiceFactory()
    # Acked at +100 s, the ack timed out (acknowledged_at cleared), resolved unacked.
    timed_out = make_incident(svc, created=T, resolve=900)
    # Acked at +50 s, timed out, acked again at +700 s.
    reacked = make_incident(svc, created=T + timedelta(minutes=1), ack=700)
    from paging.models import Incident

    Incident.objects.filter(pk=timed_out.pk).update(
        first_acknowledged_at=T + timedelta(seconds=100)
    )
    Incident.objects.filter(pk=reacked.pk).update(
        first_acknowledged_at=T + timedelta(minutes=1, seconds=50)
    )
    # Acknowledged before paging kept the first ack: only acknowledged_at (+30 s).
    make_incident(svc, created=T + timedelta(minutes=2), ack=30)
    [row] = response_times(flt=PERIOD)
    assert row["mtta"] == stats(3, 60.0, 50.0, 90.0, 95.0)
    assert row["resolved_without_ack"] == 0


@pytest.mark.postgres
def test_covering_index_serves_the_period_scan(db):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'analytics_incident_created_cover'"
        )
        [(indexdef,)] = cur.fetchall()
    assert "(created_at) INCLUDE (id, service_id" in indexdef
    assert "first_acknowledged_at" in indexdef
    assert "first_acknowledged_by_id" in indexdef  # whom MTTA credits, by=engineer
