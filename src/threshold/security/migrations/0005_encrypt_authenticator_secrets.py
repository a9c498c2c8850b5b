"""Encrypt the authenticator-app secrets stored before Threshold sealed them (and back).

From here on allauth.mfa stores them through ``MFAAdapter.encrypt``; this seals the ones it
stored in plain text before, under the newest of THRESHOLD_ENCRYPTION_KEYS. The reverse
opens them again, for a downgrade to code that reads plain secrets.
"""

from typing import Any

from django.db import migrations

from threshold.core import crypto

# Frozen here as it was when this migration was written (threshold.security.adapter.MFA_PURPOSE).
MFA_PURPOSE = "mfa"
BATCH = 500


def _rewrite(apps: Any, change: Any) -> None:
    Authenticator = apps.get_model("mfa", "Authenticator")
    last = 0
    while True:
        batch = list(Authenticator.objects.filter(type="totp", pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        for authenticator in batch:
            data = dict(authenticator.data or {})
            secret = data.get("secret")
            if isinstance(secret, str) and secret:
                new = change(secret)
                if new != secret:
                    data["secret"] = new
                    authenticator.data = data
                    authenticator.save(update_fields=["data"])
        last = batch[-1].pk


def encrypt_secrets(apps: Any, schema_editor: Any) -> None:
    _rewrite(
        apps,
        lambda secret: secret if crypto.is_encrypted(secret) else crypto.encrypt(secret, purpose=MFA_PURPOSE),
    )


def decrypt_secrets(apps: Any, schema_editor: Any) -> None:
    _rewrite(
        apps,
        lambda secret: crypto.decrypt(secret, purpose=MFA_PURPOSE) if crypto.is_encrypted(secret) else secret,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0004_scheduledremoval"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False)]
