# A public id for phone numbers, so URLs never carry the sequential primary key.
# Added in three steps: a default of uuid4 would be evaluated once for every existing row.

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    PhoneNumber = apps.get_model("accounts", "PhoneNumber")
    for phone in PhoneNumber.objects.filter(public_id__isnull=True).only("pk"):
        phone.public_id = uuid.uuid4()
        phone.save(update_fields=["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="phonenumber",
            name="public_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="phonenumber",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
