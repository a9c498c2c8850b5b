"""The password check behind every sign-in: allauth's, with our lookup of the account."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from threshold.accounts import selectors


class EmailBackend(AuthenticationBackend):
    """Accounts sign in with their email address only (``ACCOUNT_LOGIN_METHODS``).

    SECURITY: the account is looked up with the same queries whether or not the address has
    one (``selectors.users_for_sign_in``), and allauth's backend hashes the typed password once
    either way: against the account's hash, or a throwaway one for an unknown address.
    """

    def _authenticate(self, request: HttpRequest | None, **credentials: Any) -> AbstractBaseUser | None:
        email = credentials.get("email") or credentials.get("username") or ""
        password = credentials.get("password") or ""
        if not email:
            return None
        for user in selectors.users_for_sign_in(email):
            if self._check_password(user, password):
                return user
        return None
