"""The sign-in stage that applies an organisation's rule for unfamiliar sign-ins (Premium)."""

from __future__ import annotations

from typing import Any

from allauth.account.stages import LoginStage
from django.shortcuts import render

from threshold.orgs import policies, services


class UnfamiliarSignInStage(LoginStage):
    """Refuses an unfamiliar sign-in when the person's organisation blocks them, or holds it
    when the organisation asks for a second step and the person has none to give.

    It runs after the password (so it tells nothing to someone who does not know it) and
    before the second step; "ask for a second step" is answered by the two-step stage
    itself (security.services.challenge.second_step_needed asks ``policies``).
    """

    key = "threshold_unfamiliar_sign_in"

    def handle(self) -> tuple[Any, bool]:
        user = self.login.user
        if user is None:
            return None, True
        if policies.unfamiliar_sign_in_held(request=self.request, user=user):
            # Ending the sign-in here leaves no session: nothing can be set up from it.
            services.note_held_sign_in(user=user, request=self.request)
            return render(
                self.request,
                "orgs/sign_in_held.html",
                {"organization": policies.home_organization(user)},
                status=403,
            ), False
        if not policies.unfamiliar_sign_in_blocked(request=self.request, user=user):
            return None, True
        services.note_blocked_sign_in(user=user, request=self.request)
        organization = policies.home_organization(user)
        return render(
            self.request,
            "orgs/sign_in_blocked.html",
            {
                "organization": organization,
                "contact": policies.contact_sentence(organization) if organization else "",
            },
            status=403,
        ), False
