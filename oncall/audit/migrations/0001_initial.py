"""The audit trail; on PostgreSQL a trigger also refuses UPDATE and DELETE of entries."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def _on_postgres(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(db_index=True)),
                ('at', models.DateTimeField(db_index=True)),
                ('actor_kind', models.CharField(choices=[('user', 'User (admin or API session)'), ('token', 'API token owner'), ('provider', 'Provider callback'), ('config', 'Config file (oncall_apply)'), ('system', 'System (engine, tasks, commands)')], max_length=16)),
                ('actor_label', models.CharField(max_length=255)),
                ('object_type', models.CharField(max_length=64)),
                ('object_id', models.CharField(blank=True, max_length=64)),
                ('object_repr', models.CharField(blank=True, max_length=255)),
                ('parent', models.CharField(blank=True, max_length=100)),
                ('action', models.CharField(max_length=32)),
                ('changes', models.JSONField(blank=True, default=dict)),
                ('note', models.TextField(blank=True)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64)),
                ('actor_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'audit entries',
                'ordering': ['-seq'],
                'indexes': [models.Index(fields=['object_type', 'object_id', 'seq'], name='audit_audit_object__72f2d0_idx'), models.Index(fields=['parent', 'seq'], name='audit_audit_parent_ebe7e5_idx')],
            },
        ),
        # Not on SQLite: Django's test flush empties tables with DELETE there (PostgreSQL
        # uses TRUNCATE, which row triggers do not see). The hash chain covers both.
        migrations.RunPython(_on_postgres(APPEND_ONLY), _on_postgres(DROP_APPEND_ONLY)),
    ]
