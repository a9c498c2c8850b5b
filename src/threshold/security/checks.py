"""Security misconfiguration stops start-up with one clear line."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

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
