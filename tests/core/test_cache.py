from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def test_the_database_cache_keeps_more_than_a_few_hundred_entries(settings: Any) -> None:
    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("only the database cache had the 300-entry default")
    cache.set("signin-fail:acct:first", (3, 1.0), 3600)
    cache.set_many({f"signin-fail:ip:198.51.100.{i}": (1, 1.0) for i in range(1000)}, 3600)
    cache.set("signin-fail:acct:last", (1, 1.0), 3600)
    assert cache.get("signin-fail:acct:first") == (3, 1.0)
    assert cache.get("signin-fail:ip:198.51.100.7") == (1, 1.0)
