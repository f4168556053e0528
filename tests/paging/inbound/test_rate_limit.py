"""Per-integration rate limit: 429 with Retry-After beyond it, and nothing accepted lost."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from django.test import Client

from oncall.audit.models import AuditEntry
from paging.models import Alert, ChangeEvent, Incident, Integration
from tests.paging.inbound.conftest import integration_make
from tests.paging.inbound.samples import alertmanager_message, am_alert, change_event_sample

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def webhook(client, integration: Integration, key: str):
    body = {"title": f"Alert {key}", "dedup_key": key}
    url = f"/integrations/webhook/{integration.token}/"
    return client.post(url, json.dumps(body), content_type="application/json")


def test_burst_beyond_the_limit_is_429_and_every_202_is_stored(client, service):
    integration = integration_make(
        Integration.Kind.WEBHOOK, service=service, rate_limit_per_minute=10
    )
    with time_machine.travel(T0, tick=False):
        answers = {f"k{n}": webhook(client, integration, f"k{n}") for n in range(25)}
    accepted = [key for key, r in answers.items() if r.status_code == 202]
    refused = [key for key, r in answers.items() if r.status_code == 429]
    assert (len(accepted), len(refused)) == (10, 15)
    assert accepted == [f"k{n}" for n in range(10)]  # the burst allowance comes first
    stored = set(Incident.objects.values_list("dedup_key", flat=True))
    assert stored == set(accepted)  # every 202 is in the database, no 429 is
    first_refusal = answers["k10"]
    assert first_refusal["Retry-After"] == "6"  # one slot frees every 60/10 s
    assert first_refusal.json()["errors"] == [
        "this integration accepts 10 events per minute; retry after 6 s"
    ]

    with time_machine.travel(T0 + dt.timedelta(seconds=5), tick=False):
        assert webhook(client, integration, "early").status_code == 429
    with time_machine.travel(T0 + dt.timedelta(seconds=6), tick=False):
        assert webhook(client, integration, "on-time").status_code == 202
        assert webhook(client, integration, "again").status_code == 429
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        # A quiet minute gives the whole burst back, and no more.
        statuses = Counter(webhook(client, integration, f"b{n}").status_code for n in range(12))
    assert statuses == {202: 10, 429: 2}


def test_refusals_are_counted_on_metrics(client, service):
    integration = integration_make(
        Integration.Kind.WEBHOOK, service=service, name="ci", rate_limit_per_minute=2
    )
    with time_machine.travel(T0, tick=False):
        for n in range(5):
            webhook(client, integration, f"k{n}")
    text = Client().get("/metrics").content.decode()
    line = (
        f'oncall_inbound_rate_limited_total{{integration="{integration.pk}",kind="webhook",'
        f'service="payments",name="ci"}} 3'
    )
    assert line in text.splitlines()


def test_an_alertmanager_message_counts_once_whatever_its_alerts(client, service):
    integration = integration_make(
        Integration.Kind.ALERTMANAGER, service=service, rate_limit_per_minute=2
    )
    url = f"/integrations/alertmanager/{integration.token}/"
    statuses = []
    with time_machine.travel(T0, tick=False):
        for group in range(3):
            alerts = [am_alert(f"{group:02x}{n:014x}") for n in range(50)]
            body = json.dumps(alertmanager_message(alerts, group_key=f"g{group}"))
            statuses.append(client.post(url, body, content_type="application/json").status_code)
    assert statuses == [202, 202, 429]
    assert Alert.objects.count() == 100


def test_pagerduty_endpoints_share_the_key_and_answer_in_pagerduty_shape(client, service):
    integration = integration_make(
        Integration.Kind.PAGERDUTY,
        service=service,
        token="R0UT1NGKEY0000000000000000000001",
        rate_limit_per_minute=1,
    )
    trigger = {
        "routing_key": integration.token,
        "event_action": "trigger",
        "payload": {"summary": "Down", "source": "db-1", "severity": "critical"},
    }
    with time_machine.travel(T0, tick=False):
        ok = client.post("/v2/enqueue", json.dumps(trigger), content_type="application/json")
        limited = client.post(
            "/v2/change/enqueue", json.dumps(change_event_sample()), content_type="application/json"
        )
    assert ok.status_code == 202
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert limited.json()["status"] == "throttle event"
    assert ChangeEvent.objects.count() == 0


def test_zero_means_no_limit(client, service):
    integration = integration_make(
        Integration.Kind.WEBHOOK, service=service, rate_limit_per_minute=0
    )
    with time_machine.travel(T0, tick=False):
        statuses = Counter(webhook(client, integration, f"k{n}").status_code for n in range(150))
    assert statuses == {202: 150}


def test_default_is_120_a_minute(client, service):
    integration = integration_make(Integration.Kind.WEBHOOK, service=service)
    assert integration.rate_limit_per_minute == 120
    with time_machine.travel(T0, tick=False):
        statuses = Counter(webhook(client, integration, f"k{n}").status_code for n in range(125))
    assert statuses == {202: 120, 429: 5}


def test_limit_set_through_the_api_is_audited_and_validated(admin_client, service):
    integration = integration_make(Integration.Kind.WEBHOOK, service=service)
    url = f"/api/v1/integrations/{integration.pk}/"
    response = admin_client.patch(
        url, {"rate_limit_per_minute": 600}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["rate_limit_per_minute"] == 600
    entry = AuditEntry.objects.filter(object_type="paging.integration", action="update").get()
    assert entry.changes["rate_limit_per_minute"] == [120, 600]
    for bad in (-1, "many", 10**7):
        response = admin_client.patch(
            url, {"rate_limit_per_minute": bad}, content_type="application/json"
        )
        assert response.status_code == 400
        assert "rate_limit_per_minute" in response.json()


def test_limit_set_in_the_admin(admin_client, service):
    integration = integration_make(Integration.Kind.WEBHOOK, service=service, name="ci")
    response = admin_client.post(
        f"/admin/paging/integration/{integration.pk}/change/",
        {
            "service": service.pk,
            "kind": "webhook",
            "name": "ci",
            "grouping": "group",
            "rate_limit_per_minute": "30",
            "sns_topic_arns": "",
            # The integration page edits its alert rules inline: an empty formset.
            "rules-TOTAL_FORMS": "0",
            "rules-INITIAL_FORMS": "0",
            "rules-MIN_NUM_FORMS": "0",
            "rules-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.rate_limit_per_minute == 30
    assert AuditEntry.objects.filter(object_type="paging.integration", action="update").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_share_one_bucket():
    """Each thread has its own database connection, as each gunicorn process has.

    PostgreSQL only: the test database on SQLite is in memory with a shared cache, where
    concurrent writers fail at once ("table is locked") instead of waiting their turn as
    they do on the embedded mode's SQLite file."""
    integration = integration_make(Integration.Kind.WEBHOOK, rate_limit_per_minute=30)
    threads, per_thread = 8, 10
    barrier = threading.Barrier(threads)

    def worker(number: int) -> list[tuple[str, int]]:
        client = Client()
        answers = []
        try:
            barrier.wait()
            for n in range(per_thread):
                key = f"t{number}-{n}"
                answers.append((key, webhook(client, integration, key).status_code))
        finally:
            connection.close()
        return answers

    with time_machine.travel(T0, tick=False), ThreadPoolExecutor(threads) as pool:
        answers = [a for chunk in pool.map(worker, range(threads)) for a in chunk]
    accepted = {key for key, status in answers if status == 202}
    assert Counter(status for _, status in answers) == {202: 30, 429: 50}
    assert set(Incident.objects.values_list("dedup_key", flat=True)) == accepted
