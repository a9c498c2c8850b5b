"""The session restriction accounts registers (``verification.restrictions``)."""

from django.http import HttpRequest

from threshold.verification.restrictions import Restriction


def _must_change_password(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "must_change_password", False))


# An account whose password was issued by someone else (``createadmin``, an admin's temporary
# password) stays on the change-password page until the person has chosen their own.
MUST_CHANGE_PASSWORD = Restriction(
    name="must_change_password",
    applies=_must_change_password,
    page="account_change_password",
    open_pages=frozenset({"account_change_password", "account_logout", "account_reauthenticate"}),
)
