from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


from tests.security.conftest import commits, person, user_with_totp  # noqa: E402, F401 - shared security states
