"""Validation only. allauth's forms are extended through ``MFA_FORMS``/``ACCOUNT_FORMS``."""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from threshold.accounts.allauth_forms import ChangePasswordForm as AccountsChangePasswordForm
from threshold.accounts.models import PhoneNumber
from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.security import services, totp


class AuthenticatorAppForm(ActivateTOTPForm):
    """allauth's set-up form for an authenticator app, with a name and a secret that holds still."""

    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        required=False,
        help_text=_("So you can tell it apart later, for example “Authenticator on my phone”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["code", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = context.request
        # allauth has just made a new secret; ours stays the same across reloads.
        self.secret = totp.setup_secret(request.session, self.user)
        self.fields["code"].label = _("Code from the app")
        self.fields["code"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code"})
        self.fields["code"].help_text = _("The 6-digit code your app shows now.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            services.check_may_add_method(user=self.user, request=context.request)
        except PolicyDenied as exc:
            raise ValidationError(exc.decision.message, code=exc.decision.reason_code) from exc
        if not self.errors:
            totp.finish_setup(context.request.session, cleaned.get("name", "").strip())
        return cleaned


class ChangePasswordForm(AccountsChangePasswordForm):
    """The change-password form (accounts' take on allauth's), which also needs a sign-in
    from the last 10 minutes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # Sent to sign in again before typing anything (allauth's middleware answers
            # FreshSignInRequired with the re-sign-in page and comes back here).
            services.ensure_fresh_sign_in(request=context.request, user=self.user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            services.ensure_fresh_sign_in(request=context.request, user=self.user)
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


class SecondStepForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
    trust_device = forms.BooleanField(label=_("Don't ask again on this device for 30 days"), required=False)


class RemoveMethodForm(forms.Form):
    sign_out_others = forms.BooleanField(
        label=_("Also sign out everywhere else (every other browser and device)"),
        required=False,
        help_text=_(
            "Choose this if you removed the method because a device was lost or someone else may have it."
        ),
    )


class TextMessageMethodForm(forms.Form):
    phone = forms.ModelChoiceField(
        label=_("Phone number"),
        queryset=PhoneNumber.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )

    def __init__(self, *args: Any, phones: QuerySet[PhoneNumber], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["phone"]
        field.queryset = phones  # type: ignore[attr-defined]
        field.label_from_instance = lambda phone: phone.number  # type: ignore[attr-defined]
