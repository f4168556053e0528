# The kinds of a contact method are the channels' (oncall.channel_registry): the choices
# are a callable, so adding a channel writes no migration.

import oncall.channel_registry
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0002_contactmethod_slack_email"),
    ]

    operations = [
        migrations.AlterField(
            model_name="contactmethod",
            name="kind",
            field=models.CharField(
                choices=oncall.channel_registry.contact_kind_choices, max_length=16
            ),
        ),
    ]
