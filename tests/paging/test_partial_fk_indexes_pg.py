"""Nullable foreign keys that are empty on most hot rows (who acknowledged or resolved an
incident, a timeline line's actor and message, a page's bundle) are indexed only where
set (``paging/0019``): the constraints stay, and finding a row's referrers (a delete of
the engineer) still reads an index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from paging.models import Incident, IncidentEvent
from tests.factories import EngineerFactory
from tests.paging.factories import IncidentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PARTIAL = [
    ("paging_incident", "acknowledged_by_id"),
    ("paging_incident", "first_acknowledged_by_id"),
    ("paging_incident", "resolved_by_id"),
    ("paging_incidentevent", "actor_id"),
    ("paging_incidentevent", "message_id"),
    ("paging_message", "bundled_into_id"),
]


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.parametrize(("table", "column"), PARTIAL)
def test_the_only_index_of_the_column_is_partial_and_the_constraint_stays(table, column):
    indexes = [
        definition
        for (definition,) in _rows("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        if f"({column})" in definition
    ]
    assert len(indexes) == 1, indexes
    assert indexes[0].endswith(f"WHERE ({column} IS NOT NULL)")
    foreign = _rows(
        "SELECT 1 FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid"
        " AND a.attnum = ANY(c.conkey) WHERE c.conrelid = %s::regclass AND c.contype = 'f'"
        " AND a.attname = %s",
        [table, column],
    )
    assert foreign == [(1,)]


def test_deleting_an_engineer_clears_their_acks_through_the_partial_index():
    engineer = EngineerFactory()
    incident = IncidentFactory(status=Incident.Status.ACKNOWLEDGED, acknowledged_by=engineer)
    IncidentEvent.objects.create(incident=incident, kind="note", at=timezone.now(), actor=engineer)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT 1 FROM paging_incident WHERE acknowledged_by_id = %s", [engineer.pk]
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "incident_acked_by" in plan
    engineer.delete()
    incident.refresh_from_db()
    assert incident.acknowledged_by_id is None
    assert IncidentEvent.objects.get(kind="note").actor_id is None
