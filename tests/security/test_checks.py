from __future__ import annotations

from typing import Any

from threshold.security import checks


def test_a_process_local_cache_stops_start_up(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    [error] = checks.shared_cache(None)
    assert error.id == "threshold.E120"
    assert "replayed" in error.msg


def test_the_database_cache_and_redis_are_shared(settings: Any) -> None:
    assert checks.shared_cache(None) == []
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
    }
    assert checks.shared_cache(None) == []


def test_allauth_mfa_must_be_wired_to_the_security_app(settings: Any) -> None:
    assert checks.mfa_wiring(None) == []
    settings.MFA_ADAPTER = "allauth.mfa.adapter.DefaultMFAAdapter"
    settings.MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
    assert {e.id for e in checks.mfa_wiring(None)} == {"threshold.E121", "threshold.E122"}
