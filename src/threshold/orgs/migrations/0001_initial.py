"""Organization moves from accounts to orgs, keeping its table: a change of state only."""

import uuid

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_user_closed_at_user_closes_at_and_more"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Organization",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ("name", models.CharField(max_length=120, verbose_name="name")),
                        ("slug", models.SlugField(max_length=60, unique=True, verbose_name="slug")),
                        ("verified_domains", models.JSONField(blank=True, default=list, verbose_name="verified domains")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={"ordering": ["name"], "db_table": "accounts_organization"},
                ),
            ],
            database_operations=[],
        ),
    ]
