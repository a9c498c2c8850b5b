"""allauth's hooks, each a hand-off to our services."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from threshold.accounts import registry, selectors, services
from threshold.core.context import context_of
from threshold.core.outgoing import queue_mail
from threshold.orgs import policies
from threshold.orgs.policies import Action

# The one list of allauth's notification mails that our security alerts replace
# (activity.alerts.send_security_alert): each of these changes records a catalogued event
# with notify_user, whose alert goes to every verified address with device, country and a
# "This wasn't me" link. allauth's own goes only to the primary address; sending both would
# mail the person twice.
REPLACED_NOTIFICATIONS = frozenset(
    {
        "account/email/password_changed",  # account:password:change
        "account/email/password_set",  # account:password:change
        "account/email/email_changed",  # account:email:primary
        "account/email/email_deleted",  # account:email:remove
        "mfa/email/totp_activated",  # account:method:add
        "mfa/email/webauthn_added",  # account:method:add
        "mfa/email/totp_deactivated",  # account:method:remove
        "mfa/email/webauthn_removed",  # account:method:remove
        "mfa/email/recovery_codes_generated",  # account:recovery_codes:generate
    }
)


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Growing delays after failed sign-ins, per account and per client address.

        The attempt counts as failed from here on (see ``throttle``); a wrong password needs
        no further bookkeeping, so ``authentication_failed`` keeps allauth's no-op.
        """
        services.ensure_sign_in_allowed(request=request, email=credentials.get("email", ""))

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        """A right password, unless the account's password sign-in was stopped by too many
        wrong ones in a row: then it reads as wrong (see ``services.refuse_stopped_password``)."""
        user = super().authenticate(request, **credentials)
        if user is not None and user.password_sign_in_stopped:
            services.refuse_stopped_password(request=request, email=credentials.get("email", ""))
            return None
        if user is not None:
            services.note_password_accepted(request=request, email=credentials.get("email", ""))
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        """One more wrong password in a row for the account (threshold.accounts.services)."""
        services.note_password_failed(request=request, email=credentials.get("email", ""))

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        """A locked account is refused once its password was right (threshold.devices)."""
        return registry.sign_in_refusal(request, user) or super().pre_login(request, user, **kwargs)

    def get_login_stages(self) -> list[str]:
        """Two-step verification at sign-in is threshold.security's stage; an organisation's
        rule for unfamiliar sign-ins (threshold.orgs) comes just before it."""
        stages = registry.login_stages(super().get_login_stages())
        ours = "threshold.security.stages.TwoStepStage"
        at = stages.index(ours) if ours in stages else len(stages)
        return [*stages[:at], "threshold.orgs.stages.UnfamiliarSignInStage", *stages[at:]]

    def can_delete_email(self, email_address: Any) -> bool:
        """An organisation may manage its members' addresses (threshold.orgs)."""
        if not policies.evaluate(email_address.user, Action.EMAIL_CHANGE).allowed:
            return False
        return bool(super().can_delete_email(email_address))

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Sensitive changes need a sign-in within the last 10 minutes (threshold.security)."""
        return registry.reauthentication_required(app=app)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address from our RequestContext, which honours only trusted proxies."""
        return context_of(request).ip or "0.0.0.0"  # noqa: S104 - a key for rate limits, not a bind address

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's messages, in the language of the account that receives them, queued for
        the worker like every other message (threshold.core.outgoing)."""
        request = allauth_context.request
        full = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        with translation.override(selectors.language_for_email(email)):
            message = self.render_mail(template_prefix, email, full)
        queue_mail(message)

    def send_notification_mail(
        self,
        template_prefix: str,
        user: Any,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        """Only the notices our security alerts do not already cover (see REPLACED_NOTIFICATIONS)."""
        if template_prefix in REPLACED_NOTIFICATIONS:
            return
        super().send_notification_mail(template_prefix, user, context, email)

    def login(self, request: HttpRequest, user: Any) -> None:
        """From the moment of sign-in, the request speaks the person's language: allauth's
        "Successfully signed in" message is made later in this same request; the session
        ends with the browser unless the person chose "Keep me signed in".

        Last gate for a locked account, whichever way and stages the sign-in came through."""
        registry.ensure_sign_in_allowed(request, user)
        super().login(request, user)
        if request.session.get("_session_expiry") is None:
            # SECURITY: a sign-in that offered no "Keep me signed in" (a passkey, a code, a
            # confirmed address) lasts until the browser closes, not 30 days. The password
            # form sets the person's own choice after this.
            request.session.set_expiry(0)
        if getattr(user, "locale", ""):
            translation.activate(user.locale)
            request.LANGUAGE_CODE = translation.get_language()

    def reauthenticate(self, user: Any, password: str) -> bool:
        """allauth's check of the password; a hash it re-made keeps this session signed in."""
        hash_before = user.password
        ok: bool = super().reauthenticate(user, password)
        if ok:
            services.keep_signed_in_after_rehash(request=self.request, user=user, hash_before=hash_before)
        return ok

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """The person's language and time zone start as the ones the browser asked for."""
        user.locale = services.supported_language(translation.get_language())
        return super().save_user(request, user, form, commit)
