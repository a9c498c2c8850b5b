from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator

from tests.conftest import make_user
from threshold.core import crypto
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


def test_a_secret_under_a_key_taken_out_too_early_stops_start_up(settings: Any, db: Any) -> None:
    old, new = bytes(32), bytes(range(32))
    settings.ENCRYPTION_KEYS = [old]
    Authenticator.objects.create(
        user=make_user(), type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt("S", purpose="mfa")}
    )
    settings.ENCRYPTION_KEYS = [new, old]
    assert checks.secrets_readable(None) == []
    settings.ENCRYPTION_KEYS = [new]
    [error] = checks.secrets_readable(None)
    assert error.id == "threshold.E123"
    assert "1 authenticator-app secret(s)" in error.msg and crypto.key_id(old) in error.msg
