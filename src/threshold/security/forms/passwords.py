"""The password change form, as Security info asks it."""

from __future__ import annotations

from typing import Any

from allauth.core import context
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.accounts.allauth_forms import ChangePasswordForm as AccountsChangePasswordForm
from threshold.core.errors import FreshSignInRequired
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


class ChangePasswordForm(AccountsChangePasswordForm):
    """The change-password form (accounts' take on allauth's), which also needs a sign-in
    from the last 10 minutes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # Sent to sign in again before typing anything (allauth's middleware answers
            # FreshSignInRequired with the re-sign-in page and comes back here).
            ensure_fresh_sign_in(request=context.request, user=self.user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            ensure_fresh_sign_in(request=context.request, user=self.user)
        except FreshSignInRequired as exc:
            # SECURITY: not raised on a POST, so the typed passwords are never parked in
            # the session to be replayed after the re-sign-in.
            raise ValidationError(
                _(
                    "Your sign-in is too old for this change. Reload this page and sign in again to change your password."
                ),
                code="fresh_sign_in",
            ) from exc
        return cleaned
