from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Words are checked in English: a request in another test may leave its language active."""
    with translation.override("en"):
        yield
