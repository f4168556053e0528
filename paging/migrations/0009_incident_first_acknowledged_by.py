import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Who acked first, from the timeline: the actor of the earliest acknowledged event
    (rows from before ``first_acknowledged_at`` keep being credited by ``acknowledged_by``)."""
    Incident = apps.get_model("paging", "Incident")
    IncidentEvent = apps.get_model("paging", "IncidentEvent")
    first = (
        IncidentEvent.objects.filter(incident_id=models.OuterRef("pk"), kind="acknowledged")
        .order_by("at", "id")
        .values("actor_id")[:1]
    )
    Incident.objects.filter(first_acknowledged_at__isnull=False).update(
        first_acknowledged_by_id=models.Subquery(first)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0001_initial"),
        ("paging", "0008_policy_versions_maintenance"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="first_acknowledged_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="oncall.engineer",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
