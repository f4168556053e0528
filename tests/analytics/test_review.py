"""Post-incident review drafts: content, routing next to paging's router, templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from analytics.models import ReviewTemplate
from analytics.review import duration_text
from paging.models import Alert, IncidentEvent
from tests.analytics.conftest import T, page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    c = APIClient()
    c.force_authenticate(UserFactory())
    return c


@pytest.fixture
def incident(cast):
    inc = cast.incidents["a3"]  # acked by Bob at +300 s, resolved at +1800 s
    at = inc.created_at
    IncidentEvent.objects.create(incident=inc, kind="triggered", at=at, text="CPU high")
    IncidentEvent.objects.create(
        incident=inc, kind="escalation_step", at=at, text="step 1: paging Alice"
    )
    IncidentEvent.objects.create(
        incident=inc,
        kind="acknowledged",
        at=at + timedelta(seconds=300),
        actor=cast.bob,
        via="sms",
        text="1 pending | notification(s)\ncancelled",
    )
    IncidentEvent.objects.create(
        incident=inc, kind="resolved", at=at + timedelta(seconds=1800), actor=cast.alice
    )
    inc.resolved_by = cast.alice
    inc.save(update_fields=["resolved_by"])
    page(inc, kind="sms", status="sent", sent=10, engineer=cast.alice)
    page(inc, kind="voice", status="cancelled", sent=None, engineer=cast.bob)
    Alert.objects.create(
        incident=inc, service=inc.service, alert_key="k", first_seen_at=at, last_seen_at=at
    )
    return inc


def test_review_markdown_content(client, incident):
    with time_machine.travel(T + timedelta(days=1), tick=False):
        r = client.get(f"/api/v1/incidents/{incident.pk}/review")
    assert r.status_code == 200, r.content
    assert r["Content-Type"] == "text/markdown; charset=utf-8"
    md = r.content.decode()
    assert md.startswith(f"# Post-incident review: {incident.title}\n")
    assert "Draft generated 2026-01-06 10:00:00 UTC" in md
    assert "- **Service:** api (team Core)" in md
    assert "- **Triggered:** 2026-01-05 12:00:00 UTC" in md
    assert "- **Acknowledged:** 2026-01-05 12:05:00 UTC by Bob" in md
    assert "- **Resolved:** 2026-01-05 12:30:00 UTC by Alice" in md
    assert "- **Time to acknowledge:** 5m 00s" in md
    assert "- **Time to resolve:** 30m 00s" in md
    assert "1 alert(s) attached" in md
    # Timeline rows in order; pipes and newlines in texts cannot break the table.
    lines = [line for line in md.splitlines() if line.startswith("| 2026-")]
    assert lines == [
        "| 2026-01-05 12:00:00 UTC | Incident triggered |  | CPU high |",
        "| 2026-01-05 12:00:00 UTC | Escalation step |  | step 1: paging Alice |",
        "| 2026-01-05 12:05:00 UTC | Acknowledged | Bob "
        "| 1 pending \\| notification(s) cancelled |",
        "| 2026-01-05 12:30:00 UTC | Resolved | Alice |  |",
    ]
    responders = md.split("## Responders\n\n")[1].split("\n## ")[0]
    assert responders.strip().splitlines() == ["- Bob", "- Alice"]
    assert "## Action items" in md
    assert md.count("- [ ] _TODO") == 1  # no action items yet: one placeholder


def test_review_of_unacknowledged_open_incident(client, cast):
    inc = cast.incidents["b3"]
    r = client.get(f"/api/v1/incidents/{inc.pk}/review/")  # trailing slash works too
    md = r.content.decode()
    assert "- **Acknowledged:** never" in md
    assert "- **Time to resolve:** n/a" in md
    assert "- nobody responded" in md


def test_review_json_404_400_and_auth(client, incident):
    r = client.get(f"/api/v1/incidents/{incident.pk}/review", {"format": "json"})
    assert r.json()["incident"] == incident.pk
    assert r.json()["markdown"].startswith("# Post-incident review")
    assert client.get("/api/v1/incidents/999999/review").status_code == 404
    assert client.get("/api/v1/incidents/abc/review").status_code == 400
    assert APIClient().get(f"/api/v1/incidents/{incident.pk}/review").status_code == 401


def test_paging_incident_routes_are_not_shadowed(client, incident):
    # analytics.urls is included after paging's router: both must keep working.
    assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
    assert client.get(f"/api/v1/incidents/{incident.pk}/review").status_code == 200


def test_admin_edited_template_is_used_and_validated(client, incident):
    ReviewTemplate.objects.create(
        name="default",
        body="## {{ incident.title }}\nTTA={{ tta }}\n"
        "{% for r in responders %}* {{ r }}\n{% endfor %}",
    )
    md = client.get(f"/api/v1/incidents/{incident.pk}/review").content.decode()
    assert md == f"## {incident.title}\nTTA=5m 00s\n* Bob\n* Alice\n"
    broken = ReviewTemplate(name="other", body="{% for x in %}")
    with pytest.raises(ValidationError) as exc:
        broken.full_clean()
    assert "body" in exc.value.message_dict


def test_broken_template_in_database_falls_back_to_default(client, incident):
    ReviewTemplate.objects.create(name="default", body="{% if %}")
    md = client.get(f"/api/v1/incidents/{incident.pk}/review").content.decode()
    assert md.startswith("# Post-incident review")


def test_duration_text():
    assert duration_text(None) == ""
    assert duration_text(timedelta(seconds=7)) == "7s"
    assert duration_text(timedelta(minutes=2, seconds=3)) == "2m 03s"
    assert duration_text(timedelta(hours=1, minutes=2, seconds=3)) == "1h 02m 03s"


def test_review_and_mtta_credit_whoever_acked_first(monkeypatch, client):
    """Alice acks at T1, the ack times out and re-triggers, Bob acks at T2: the review
    says first ack at T1 by Alice, and MTTA per engineer credits Alice, not Bob."""
    from analytics.filters import MetricFilter
    from analytics.metrics import response_times
    from paging.engine import tick
    from paging.incident_actions import incident_acknowledge
    from paging.models import Incident
    from tests.paging.factories import ServiceFactory, policy_with_steps
    from tests.support import T0, RecordingChannel, engineer_with_ladder, fire

    monkeypatch.setattr("paging.outbox.channel_for", lambda kind: RecordingChannel())
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(
        escalation_policy=policy_with_steps([alice, bob], delay_minutes=30),
        ack_timeout_minutes=20,
    )
    with time_machine.travel(T0, tick=False) as clock:
        incident = fire(service)
        tick()
        clock.shift(timedelta(minutes=2))
        incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk, via="sms")  # T1
        clock.shift(timedelta(minutes=20))
        tick()  # the ack timed out: triggered again, paged again
        assert Incident.objects.get(pk=incident.pk).status == "triggered"
        clock.shift(timedelta(minutes=3))
        incident_acknowledge(incident_id=incident.pk, engineer_id=bob.pk, via="sms")  # T2
        r = client.get(f"/api/v1/incidents/{incident.pk}/review")
    md = r.content.decode()
    assert (
        "- **Acknowledged:** 2026-03-02 03:02:00 UTC by Alice"
        " (after an ack timeout, acknowledged again 2026-03-02 03:25:00 UTC by Bob)"
    ) in md
    assert "- **Time to acknowledge:** 2m 00s" in md

    period = MetricFilter(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1))
    people = {r["engineer_name"]: r["mtta"] for r in response_times(flt=period, by="engineer")}
    assert people == {"Alice": stats_of(120.0)}
    bobs = MetricFilter(start=period.start, end=period.end, engineer=bob.pk)
    assert response_times(flt=bobs)[0]["incidents"] == 0
    incident.refresh_from_db()
    assert (incident.first_acknowledged_by_id, incident.acknowledged_by_id) == (alice.pk, bob.pk)


def stats_of(seconds: float) -> dict:
    return {"count": 1, "mean": seconds, "p50": seconds, "p90": seconds, "p95": seconds}
