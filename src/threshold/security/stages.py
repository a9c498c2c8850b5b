"""The sign-in stage that asks for a second method after the password."""

from __future__ import annotations

from typing import Any

from allauth.account.stages import LoginStage, LoginStageController
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from threshold.devices.adapter import refuse_locked
from threshold.security.services.challenge import second_step_needed


class TwoStepStage(LoginStage):
    """Stands in for allauth.mfa's stage: asks whenever two-step verification is on.

    allauth's stage asks whenever an authenticator exists and knows only its own kinds;
    ours follows the person's on/off switch, offers their default method first, text
    messages and our recovery codes, and honours devices they chose to trust.
    """

    key = "threshold_two_step"
    urlname = "security_challenge"

    def handle(self) -> tuple[Any, bool]:
        user = self.login.user
        if user is not None and getattr(user, "is_locked", False):
            return refuse_locked(self.request, user), False
        if user is None or not second_step_needed(request=self.request, user=user):
            return None, True
        return HttpResponseRedirect(reverse(self.urlname)), True

    @classmethod
    def pending(cls, request: HttpRequest) -> TwoStepStage | None:
        """The stage waiting in this session's sign-in, or None when there is none."""
        stage = LoginStageController.enter(request, cls.key)
        return stage if isinstance(stage, cls) else None
