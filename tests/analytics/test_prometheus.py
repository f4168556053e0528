"""/metrics: text exposition derived from the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client, override_settings

from paging.models import EngineHeartbeat, IncidentEvent
from tests.analytics.conftest import T, page

pytestmark = pytest.mark.django_db


def metric_lines(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = value
    return out


def test_metrics_content(cast):
    i = cast.incidents
    for inc in i.values():
        IncidentEvent.objects.create(incident=inc, kind="triggered", at=inc.created_at)
        if inc.acknowledged_at:
            IncidentEvent.objects.create(incident=inc, kind="acknowledged", at=inc.acknowledged_at)
        if inc.resolved_at:
            IncidentEvent.objects.create(incident=inc, kind="resolved", at=inc.resolved_at)
    for step in range(3):
        IncidentEvent.objects.create(
            incident=i["a4"], kind="escalation_step", at=T, data={"step": step}
        )
    page(i["a1"], kind="sms", status="sent", sent=20)
    page(i["a1"], kind="voice", status="delivered", sent=50)
    page(i["a4"], kind="sms", status="failed", sent=None)
    EngineHeartbeat.objects.create(
        name="engine", last_tick_at=datetime(2026, 1, 6, 0, 0, tzinfo=UTC), last_tick_ms=12.5
    )
    with time_machine.travel(datetime(2026, 1, 6, 0, 0, 7, tzinfo=UTC), tick=False):
        r = Client().get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = r.content.decode()
    assert "# TYPE incidents_triggered_total counter" in text
    assert "# TYPE incident_time_to_acknowledge_seconds histogram" in text
    m = metric_lines(text)
    assert m["incidents_triggered_total"] == "8"
    assert m["incidents_acknowledged_total"] == "6"
    assert m["incidents_resolved_total"] == "6"
    assert m["escalation_steps_total"] == "3"
    assert m['notifications_sent_total{channel="sms",result="success"}'] == "1"
    assert m['notifications_sent_total{channel="sms",result="failure"}'] == "1"
    assert m['notifications_sent_total{channel="voice",result="success"}'] == "1"
    # TTA values 30, 60, 90, 120, 300, 600 (s): cumulative buckets.
    tta = "incident_time_to_acknowledge_seconds"
    assert m[f'{tta}_bucket{{le="30"}}'] == "1"
    assert m[f'{tta}_bucket{{le="60"}}'] == "2"
    assert m[f'{tta}_bucket{{le="300"}}'] == "5"
    assert m[f'{tta}_bucket{{le="600"}}'] == "6"
    assert m[f'{tta}_bucket{{le="+Inf"}}'] == "6"
    assert m[f"{tta}_sum"] == "1200"
    assert m[f"{tta}_count"] == "6"
    ttr = "incident_time_to_resolve_seconds"
    assert m[f'{ttr}_bucket{{le="300"}}'] == "2"  # 240, 300
    assert m[f"{ttr}_sum"] == "7740"
    assert m['engine_tick_lag_seconds{engine="engine"}'] == "7"
    assert m['engine_tick_duration_seconds{engine="engine"}'] == "0.0125"


def test_empty_database_still_exposes_every_family(db):
    text = Client().get("/metrics").content.decode()
    for family in (
        "incidents_triggered_total 0",
        "incidents_acknowledged_total 0",
        "incidents_resolved_total 0",
        "escalation_steps_total 0",
        "# TYPE notifications_sent_total counter",
        'incident_time_to_resolve_seconds_bucket{le="+Inf"} 0',
        "# TYPE engine_tick_lag_seconds gauge",
    ):
        assert family in text


@override_settings(ANALYTICS_METRICS_TOKEN="s3cret")
def test_token_protects_metrics_when_configured(db):
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200
