"""The inbound rate limit's statement also confirms the integration's token and reads
its rules_version, so the ingest's transaction does not ask again: one statement less
per request, and a token deleted or rotated in another process is still a 404 at once,
with nothing stored."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paging.inbound import integrations, views
from paging.inbound.rate_limit import inbound_rate_take
from paging.models import Incident, Integration
from tests.paging.inbound.conftest import integration_make, stored_counts

pytestmark = pytest.mark.django_db(transaction=True)

INTEGRATION = f'FROM "{Integration._meta.db_table}" '


@pytest.fixture(autouse=True)
def empty_cache():
    integrations.integration_cache_clear()
    yield
    integrations.integration_cache_clear()


def _alertmanager(n: int) -> str:
    labels = {"alertname": "DiskFull", "instance": f"host-{n}"}
    alert = {"status": "firing", "labels": labels, "startsAt": "2026-11-20T03:14:07Z"}
    return json.dumps(
        {
            "version": "4",
            "groupKey": f"{{}}:{{instance=host-{n}}}",
            "status": "firing",
            "receiver": "oncall",
            "groupLabels": labels,
            "commonLabels": labels,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [alert],
        }
    )


def _post(client, integration: Integration, n: int):
    return client.post(
        f"/integrations/alertmanager/{integration.token}/",
        _alertmanager(n),
        content_type="application/json",
    )


def test_a_new_alert_reads_the_integration_once_in_the_rate_limit_statement(client) -> None:
    integration = integration_make(Integration.Kind.ALERTMANAGER, rate_limit_per_minute=600)
    assert _post(client, integration, 0).status_code == 202  # the integration cached
    with CaptureQueriesContext(connection) as queries:
        assert _post(client, integration, 1).status_code == 202
    sql = [q["sql"] for q in queries.captured_queries]
    reads = [s for s in sql if INTEGRATION in s]
    assert len(reads) == 1 and "paging_integrationrate" in reads[0]
    assert sql.index(reads[0]) == 0  # before the ingest's transaction
    assert Incident.objects.count() == 2


def test_without_a_limit_the_ingest_still_confirms_the_token(client) -> None:
    integration = integration_make(Integration.Kind.ALERTMANAGER, rate_limit_per_minute=0)
    assert _post(client, integration, 0).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        assert _post(client, integration, 1).status_code == 202
    reads = [q["sql"] for q in queries.captured_queries if INTEGRATION in q["sql"]]
    assert len(reads) == 1 and "paging_integrationrate" not in reads[0]


def test_a_token_rotated_in_another_process_is_a_404_before_any_write(client) -> None:
    integration = integration_make(Integration.Kind.ALERTMANAGER, rate_limit_per_minute=600)
    assert _post(client, integration, 0).status_code == 202  # cached here
    # Another process rotates it (no signal reaches this process's cache).
    Integration.objects.filter(pk=integration.pk).update(token="r" * 32)
    before = stored_counts()
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, integration, 1)
    assert response.status_code == 404
    assert stored_counts() == before
    assert len(queries.captured_queries) == 1  # the slot's statement, no transaction
    # Forgotten: the next request looks the token up again (and finds nothing).
    assert integrations.integration_for_token(integration.token, "alertmanager") is None


def test_an_integration_deleted_between_the_slot_and_the_ingest_is_a_404_storing_nothing(
    client, monkeypatch
) -> None:
    integration = integration_make(Integration.Kind.ALERTMANAGER, rate_limit_per_minute=600)
    assert _post(client, integration, 0).status_code == 202
    before = stored_counts()

    def slot_then_deleted(*, integration: Integration):
        decision = inbound_rate_take(integration=integration)
        assert decision.token_current
        # Another process deletes it (raw SQL: no signal, no cascade through the ORM).
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM paging_integrationrate WHERE integration_id = %s", [integration.pk]
            )
            cursor.execute("DELETE FROM paging_alert WHERE integration_id = %s", [integration.pk])
            cursor.execute("DELETE FROM paging_integration WHERE id = %s", [integration.pk])
        return decision

    monkeypatch.setattr(views, "inbound_rate_take", slot_then_deleted)
    response = _post(client, integration, 1)
    assert response.status_code == 404
    assert response.json()["error"] == "Unknown integration"
    incidents, alerts, _ = stored_counts()
    assert (incidents, alerts) == (before[0], 0)  # the new alert's incident rolled back too
