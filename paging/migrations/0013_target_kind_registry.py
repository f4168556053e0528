# Escalation-target kinds are registered (oncall.channel_registry): the choices are a
# callable and the constraint no longer lists kinds (exactly one reference is set; which
# one a kind uses is checked by policy_save), so adding a target kind writes no migration.

import oncall.channel_registry
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("paging", "0012_inbound_sources_rate_limit"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="escalationtarget",
            name="target_fields_match_kind",
        ),
        migrations.AlterField(
            model_name="escalationtarget",
            name="kind",
            field=models.CharField(
                choices=oncall.channel_registry.target_kind_choices, max_length=24
            ),
        ),
        migrations.AddConstraint(
            model_name="escalationtarget",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("address", ""),
                        ("engineer__isnull", False),
                        ("team__isnull", True),
                        ("schedule__isnull", True),
                    ),
                    models.Q(
                        ("address", ""),
                        ("engineer__isnull", True),
                        ("team__isnull", False),
                        ("schedule__isnull", True),
                    ),
                    models.Q(
                        ("address", ""),
                        ("engineer__isnull", True),
                        ("team__isnull", True),
                        ("schedule__isnull", False),
                    ),
                    models.Q(
                        models.Q(("address", ""), _negated=True),
                        ("engineer__isnull", True),
                        ("team__isnull", True),
                        ("schedule__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="target_one_reference",
            ),
        ),
    ]
