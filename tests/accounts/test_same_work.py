"""Sign-in, sign-up and its "Send a new code" do the same work for an address without an
account as for one with an account: the same queries, on the same tables, in the same order,
and the same tasks queued (issue 10 §3). The steps of recovery are in tests/recovery/test_same_work.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_user
from tests.recovery.test_same_work import Work, assert_same_work, measure
from threshold.accounts.models import User

# transaction=True: as in tests/recovery/test_same_work.py, the queries are those of a real request.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"


@pytest.fixture
def ada(db: Any) -> User:
    return make_user(KNOWN, given_name="Ada")


def test_sign_in_with_a_wrong_password(ada: User) -> None:
    def steps(email: str, ip: str) -> Work:
        return measure(
            lambda c: c.get("/accounts/login/"),
            lambda c: c.post("/accounts/login/", {"login": email, "password": "a wrong guess"}),
            ip,
        )

    known, unknown = steps(KNOWN, "198.51.100.1"), steps(UNKNOWN, "198.51.100.2")

    assert known.status == 200  # the form again, with the same error for both
    assert_same_work(known, unknown, tasks=0)
