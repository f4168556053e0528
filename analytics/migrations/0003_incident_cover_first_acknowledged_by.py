"""The covering index gains ``first_acknowledged_by_id``: MTTA per engineer credits whoever
acknowledged first (``analytics.filters.responder``), and the ``by=engineer`` breakdown
and ``engineer`` filter can stay index-only scans (PostgreSQL only).

Built under a new name, then swapped in, so the period scan always has an index.
"""

from django.db import migrations

INDEX = "analytics_incident_created_cover"
COLUMNS = """id, service_id, urgency, severity, status, in_maintenance, acknowledged_at,
         first_acknowledged_at, resolved_at, acknowledged_by_id, escalation_step,
         escalation_loop"""


def _create(name, columns):
    return (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON paging_incident (created_at)"
        f" INCLUDE ({columns})"
    )


def _swap(columns):
    return [
        _create(f"{INDEX}_new", columns),
        f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
        f"ALTER INDEX {INDEX}_new RENAME TO {INDEX}",
    ]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("analytics", "0002_incident_created_cover_index"),
        ("paging", "0009_incident_first_acknowledged_by"),
    ]

    operations = [
        migrations.RunPython(
            _run(_swap(COLUMNS + ", first_acknowledged_by_id")),
            _run(_swap(COLUMNS)),
            elidable=False,
        )
    ]
