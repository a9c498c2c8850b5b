"""A used authenticator code is refused by another app process too.

allauth records used codes in Django's cache; with the database cache or Redis that
record is shared. The second process here is a real one (a fresh Python interpreter) on
the same database, trying the code the first one accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import redis
from django.db import connection

from tests.conftest import make_user
from tests.security.conftest import (
    add_authenticator_app,
    browser,
    is_signed_in,
    oathtool_code,
    sign_in,
    turn_on_two_step,
    verify,
)

SECOND_PROCESS = r"""
import json, os, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
client = Client(HTTP_USER_AGENT="second process", REMOTE_ADDR="81.2.69.160")
step = client.post("/accounts/login/", {"login": sys.argv[1], "password": sys.argv[2]})
answer = client.post("/security/verify/", {"code": sys.argv[3]})
print(json.dumps({"step": step.get("Location"), "status": answer.status_code,
                  "signed_in": client.get("/").status_code == 200,
                  "cache": django.conf.settings.CACHES["default"]["BACKEND"]}))
"""


class _NoCommitCapture:
    """On a transactional database on-commit work runs by itself."""

    def __call__(self, **kwargs: Any) -> Any:
        import contextlib

        return contextlib.nullcontext()


def cache_backends() -> list[str]:
    backends = ["database"]
    if os.environ.get("THRESHOLD_TEST_REDIS_URL"):
        backends.append("redis")
    return backends


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", cache_backends())
def test_a_used_code_is_refused_by_another_process(backend: str, settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database two processes share: run with THRESHOLD_DATABASE_URL=postgres://…")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "threshold.config.settings"}
    db = connection.settings_dict
    env["THRESHOLD_DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env.pop("THRESHOLD_REDIS_URL", None)
    if backend == "redis":
        redis_url = os.environ["THRESHOLD_TEST_REDIS_URL"]
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "threshold",
            }
        }
        env["THRESHOLD_REDIS_URL"] = redis_url
        # The app's own key space ("threshold", as its processes use it), emptied key by key:
        # never FLUSHDB a Redis that tests on other pytest-xdist workers use at the same time.
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match="threshold:*"):
            client.delete(key)
        client.close()

    user = make_user("replay@example.com", given_name="Rita")
    owner = browser()
    sign_in(owner, user)
    commits = _NoCommitCapture()
    secret = add_authenticator_app(owner, commits)
    turn_on_two_step(owner, commits)

    from tests.conftest import PASSWORD

    def second_process(code: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, user.email, PASSWORD, code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["cache"].endswith("RedisCache" if backend == "redis" else "DatabaseCache")
        assert answer["step"] == "/security/verify/"  # the password was right
        return answer

    # Used here first, then tried over there: refused.
    now_code = oathtool_code(secret)
    here = browser()
    sign_in(here, user)
    assert verify(here, now_code).status_code == 302
    answer = second_process(now_code)
    assert answer["status"] == 400 and not answer["signed_in"]

    # Used over there first (the code of the next 30-second step, inside the tolerance),
    # then tried here: refused. The other process can sign in, so its refusal above was
    # the replay rule, not a broken set-up.
    next_code = oathtool_code(secret, at=time.time() + 30)
    answer = second_process(next_code)
    assert answer["status"] == 302 and answer["signed_in"]
    again = browser()
    sign_in(again, user)
    assert verify(again, next_code).status_code == 400
    assert not is_signed_in(again)
