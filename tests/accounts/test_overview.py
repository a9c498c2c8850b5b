from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_the_overview_names_the_country_of_the_last_sign_in_in_the_persons_language(client: Any) -> None:
    user = make_user("lin@example.com", locale="es")
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD}, REMOTE_ADDR="81.2.69.160"
    )
    assert response.status_code == 302
    page = client.get("/", REMOTE_ADDR="81.2.69.160").content.decode()
    assert "Reino Unido" in page
    assert " · GB" not in page
