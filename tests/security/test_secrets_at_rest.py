"""Authenticator-app secrets are stored encrypted, read under any listed key, and re-encrypted
under the newest by ``threshold rotate_encryption_keys``."""

from __future__ import annotations

import json
import logging
import time
from io import StringIO
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.db import connection

from tests.conftest import make_user
from tests.security.conftest import Commits, Person, browser, oathtool_code, read_secret, sign_in, verify
from threshold.core import crypto
from threshold.security.totp import grouped

pytestmark = pytest.mark.django_db

FIRST = bytes(range(32))
SECOND = bytes(range(50, 82))


@pytest.fixture
def first_key(settings: Any) -> Any:
    settings.ENCRYPTION_KEYS = [FIRST]
    return settings


def stored_secret(person: Person) -> str:
    """The secret as the database row holds it, read without the ORM's help."""
    authenticator = Authenticator.objects.get(user=person.user, type=Authenticator.Type.TOTP)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [authenticator.pk])
        raw = cursor.fetchone()[0]
    data = raw if isinstance(raw, dict) else json.loads(raw)
    return str(data["secret"])


def signs_in_with_the_app(person: Person, *, at: float) -> bool:
    client = browser()
    assert sign_in(client, person.user).status_code == 302
    return verify(client, oathtool_code(person.secret, at=at)).status_code == 302  # type: ignore[no-any-return]


def rotate(**options: Any) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, **options)
    return out.getvalue()


def test_the_secret_is_stored_encrypted_and_the_app_still_signs_in(
    first_key: Any, user_with_two_step: Person
) -> None:
    stored = stored_secret(user_with_two_step)
    assert user_with_two_step.secret not in stored
    assert stored.startswith(f"enc1:{crypto.key_id(FIRST)}:")
    assert crypto.decrypt(stored, purpose="mfa") == user_with_two_step.secret
    assert signs_in_with_the_app(user_with_two_step, at=time.time())


def test_a_new_key_first_keeps_old_secrets_readable_until_the_command_moves_them(
    first_key: Any, user_with_two_step: Person
) -> None:
    person = user_with_two_step
    first_key.ENCRYPTION_KEYS = [SECOND, FIRST]
    assert signs_in_with_the_app(person, at=time.time() - 30)  # read under the older key

    assert "Re-encrypted 1 authenticator-app secret(s) under the newest key; 0 already were." in rotate()
    assert stored_secret(person).startswith(f"enc1:{crypto.key_id(SECOND)}:")
    # Idempotent: a second run finds everything under the newest key.
    assert "Re-encrypted 0 authenticator-app secret(s) under the newest key; 1 already were." in rotate()

    first_key.ENCRYPTION_KEYS = [SECOND]  # the old key can go now
    assert signs_in_with_the_app(person, at=time.time())


def test_the_command_works_in_batches_and_seals_a_plain_secret_left_over(
    first_key: Any, user_with_totp: Person, commits: Commits
) -> None:
    plain = Authenticator.objects.create(
        user=make_user("grace@example.com"), type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    first_key.ENCRYPTION_KEYS = [SECOND, FIRST]
    assert "Re-encrypted 2 " in rotate(batch_size=1)
    plain.refresh_from_db()
    assert crypto.decrypt(plain.data["secret"], purpose="mfa") == "JBSWY3DPEHPK3PXP"


def test_a_secret_under_a_key_no_longer_listed_is_reported_and_left_alone(
    first_key: Any, user_with_totp: Person
) -> None:
    before = stored_secret(user_with_totp)
    first_key.ENCRYPTION_KEYS = [SECOND]
    with pytest.raises(CommandError, match="1 secret\\(s\\) are sealed under a key that is not in"):
        rotate()
    assert stored_secret(user_with_totp) == before


def test_new_key_prints_a_key_the_setting_accepts(first_key: Any) -> None:
    key = rotate(new_key=True).strip()
    assert crypto.decode_key(key) is not None


def test_no_log_line_carries_the_secret_or_a_code(
    first_key: Any, person: Person, commits: Commits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    page = person.client.get("/accounts/2fa/totp/activate/")
    secret = read_secret(page.content.decode())
    code = oathtool_code(secret)
    with commits(execute=True):
        response = person.client.post("/accounts/2fa/totp/activate/", {"code": code, "name": "Phone"})
    assert response.status_code == 302
    person.secret = secret
    with commits(execute=True):
        assert person.client.post("/security/two-step/on/").status_code == 302
    client = browser()
    assert sign_in(client, person.user).status_code == 302
    second = oathtool_code(secret, at=time.time() + 30)
    assert verify(client, second).status_code == 302

    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records  # the run did log (tasks, requests): an empty capture proves nothing
    for value in (secret, grouped(secret), stored_secret(person), code, second):
        assert value not in logged, value[:8]
