from tests.security.conftest import commits, person, user_with_passkey  # noqa: F401 - shared security states
