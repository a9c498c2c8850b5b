"""Confirming it's you with a code, behind the second step's limit on wrong codes."""

from __future__ import annotations

from allauth.mfa.base.forms import ReauthenticateForm
from django.core.exceptions import ValidationError

from threshold.core.errors import Refused
from threshold.security.services.challenge import begin_code_reauthentication, code_reauthenticated


class CodeReauthenticateForm(ReauthenticateForm):
    """Confirm it's you with a code: allauth's checks, behind the second step's limit on wrong codes."""

    def clean_code(self) -> str:
        try:
            begin_code_reauthentication(user=self.user)
        except Refused as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        code: str = super().clean_code()
        code_reauthenticated(user=self.user)
        return code
