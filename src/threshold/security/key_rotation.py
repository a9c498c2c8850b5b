"""Re-encrypting the stored authenticator-app secrets under the newest encryption key.

A service module of its own (security/services/ is the writer of everything a person
does; this is the one thing an operator does to every account at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.db import transaction

from threshold.core import crypto
from threshold.security.adapter import MFA_PURPOSE


@dataclass(frozen=True)
class Rotation:
    """What one run did: sealed again under the newest key, already so, and unreadable."""

    rotated: int = 0
    current: int = 0
    unreadable: int = 0


def reencrypt_authenticator_secrets(*, batch_size: int = 500) -> Rotation:
    """Seal every authenticator-app secret under the first of THRESHOLD_ENCRYPTION_KEYS.

    Idempotent and safe to interrupt: each batch is one transaction over locked rows, a value
    already under the newest key is left as it is, and a second run finds nothing to do. A
    secret stored in plain text (before encryption) is sealed too. One sealed under a key no
    longer configured is counted and left untouched: its key must be added back first.
    """
    rotated = current = unreadable = 0
    last = 0
    while True:
        with transaction.atomic():
            batch = list(
                Authenticator.objects.select_for_update()
                .filter(type=Authenticator.Type.TOTP, pk__gt=last)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return Rotation(rotated=rotated, current=current, unreadable=unreadable)
            last = batch[-1].pk
            for authenticator in batch:
                data = dict(authenticator.data or {})
                stored = data.get("secret")
                if not isinstance(stored, str) or not stored:
                    continue
                if crypto.is_current(stored):
                    current += 1
                    continue
                try:
                    plain = (
                        crypto.decrypt(stored, purpose=MFA_PURPOSE) if crypto.is_encrypted(stored) else stored
                    )
                except crypto.DecryptionError:
                    unreadable += 1
                    continue
                data["secret"] = crypto.encrypt(plain, purpose=MFA_PURPOSE)
                authenticator.data = data
                authenticator.save(update_fields=["data"])
                rotated += 1
