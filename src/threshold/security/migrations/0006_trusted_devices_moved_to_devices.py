"""TrustedDevice now lives in devices (devices 0002): dropped from security's state only;
the table stays, owned by devices."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('security', '0005_encrypt_authenticator_secrets'),
        ('devices', '0002_trusted_devices_moved_here'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='TrustedDevice'),
            ],
            database_operations=[],
        ),
    ]
