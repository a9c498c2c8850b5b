"""The security states the staff admin's tests start from."""

from tests.security.conftest import commits, person  # noqa: F401 - shared security states
