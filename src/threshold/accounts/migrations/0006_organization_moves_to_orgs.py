"""User.organization now points at orgs.Organization; the table and its rows stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_closed_at_user_closes_at_and_more"),
        ("orgs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="user",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="members",
                        to="orgs.organization",
                        verbose_name="organization",
                    ),
                ),
                migrations.DeleteModel(name="Organization"),
            ],
            database_operations=[],
        ),
    ]
