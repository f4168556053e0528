"""A covering index for analytics reads of paging_incident (PostgreSQL only).

Every metric selects incidents by trigger time and reads a few narrow columns; with
this index a 90-day window is an index-only scan of ~1/4 of a ~100 MB index instead
of a scan of the whole table (1M incidents: MTTA/MTTR by service 390 ms -> 190 ms).
The table belongs to paging: the index is created here with IF NOT EXISTS and
CONCURRENTLY (no write lock on a live paging table), so paging may adopt it later.
"""

from django.db import migrations

INDEX = "analytics_incident_created_cover"
CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON paging_incident (created_at)
INCLUDE (id, service_id, urgency, severity, status, in_maintenance, acknowledged_at,
         first_acknowledged_at, resolved_at, acknowledged_by_id, escalation_step,
         escalation_loop)
"""
DROP = f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}"


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("analytics", "0001_initial"),
        ("paging", "0003_incident_first_acknowledged_at"),
    ]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
