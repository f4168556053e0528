"""The rate limit's slot on PostgreSQL in autocommit (a server's request): one statement,
its own transaction committed at once, and the connection's durability left as it was."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paging.inbound.rate_limit import inbound_rate_take
from paging.models import Integration, IntegrationRate
from tests.paging.inbound.conftest import integration_make

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection_count(integration: Integration) -> float | None:
    """The bucket as another session sees it: only what was committed."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        row = other.execute(
            "SELECT tat FROM paging_integrationrate WHERE integration_id = %s", [integration.pk]
        ).fetchone()
    return row[0] if row else None


def test_a_slot_is_one_statement_committed_at_once_and_the_session_stays_durable():
    integration = integration_make(Integration.Kind.WEBHOOK, rate_limit_per_minute=2)
    assert not connection.in_atomic_block
    with CaptureQueriesContext(connection) as queries:
        assert inbound_rate_take(integration=integration).allowed
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1  # no BEGIN, SET or COMMIT round trips
    assert "set_config('synchronous_commit', 'off', true)" in sql[0]
    # Committed: another session sees the slot taken.
    assert _other_connection_count(integration) == IntegrationRate.objects.get().tat
    # The setting was local to that statement's transaction: the ingest's commit that
    # follows on this connection still waits for the WAL flush.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_the_limit_holds_across_single_statement_slots():
    integration = integration_make(Integration.Kind.WEBHOOK, rate_limit_per_minute=2)
    decisions = [inbound_rate_take(integration=integration) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after >= 1
    assert IntegrationRate.objects.get().limited_total == 1
