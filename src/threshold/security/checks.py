"""Security misconfiguration stops start-up with one clear line."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError
from django.db.models import Q

from threshold.core import crypto

PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.security)
def shared_cache(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Used authenticator-app codes and second-step limits must be seen by every process."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PROCESS_LOCAL_CACHES:
        return [
            Error(
                f"The default cache ({backend}) is private to one process, so a used authenticator code "
                "could be replayed on another; use the database cache or Redis.",
                id="threshold.E120",
            )
        ]
    return []


@register(Tags.security)
def mfa_wiring(app_configs: Any, **kwargs: Any) -> list[Error]:
    """allauth.mfa must hand its decisions to the security app."""
    errors = []
    if getattr(settings, "MFA_ADAPTER", "") != "threshold.security.adapter.MFAAdapter":
        errors.append(
            Error("MFA_ADAPTER must be threshold.security.adapter.MFAAdapter.", id="threshold.E121")
        )
    if "recovery_codes" in getattr(settings, "MFA_SUPPORTED_TYPES", []):
        errors.append(
            Error(
                "MFA_SUPPORTED_TYPES must not include recovery_codes: Threshold's own, hashed codes replace them.",
                id="threshold.E122",
            )
        )
    return errors


@register(Tags.security)
def secrets_readable(app_configs: Any, **kwargs: Any) -> list[Error]:
    """An old key taken out of THRESHOLD_ENCRYPTION_KEYS before ``rotate_encryption_keys`` moved
    its secrets would lock their owners out at the second step; refuse to start instead."""
    configured = Q()
    for key in settings.ENCRYPTION_KEYS:
        configured |= Q(data__secret__startswith=f"{crypto.PREFIX}:{crypto.key_id(key)}:")
    try:
        stranded = Authenticator.objects.filter(
            type=Authenticator.Type.TOTP, data__secret__startswith=f"{crypto.PREFIX}:"
        ).exclude(configured)
        count = stranded.count()
        ids = sorted(
            {str(data["secret"]).split(":")[1] for data in stranded.values_list("data", flat=True)[:500]}
        )
    except DatabaseError:
        return []  # no database or no tables yet: database_reachable and migrate speak to that
    if not count:
        return []
    return [
        Error(
            f"{count} authenticator-app secret(s) are encrypted under a key that is not in "
            f"THRESHOLD_ENCRYPTION_KEYS (key id {', '.join(ids)}): add it back after the newest key, run "
            "`threshold rotate_encryption_keys`, then remove it.",
            id="threshold.E123",
        )
    ]
