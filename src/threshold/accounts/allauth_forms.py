"""allauth's entrance and password forms in our words (wired through ``ACCOUNT_FORMS``).

These live apart from ``forms.py`` because allauth imports ``ACCOUNT_SIGNUP_FORM_CLASS``
(``forms.SignupDetailsForm``) while it loads its own forms: ``forms.py`` must never import
them back.

Every password input accepts pasting and has no ``maxlength``: a password manager's long
password is refused with a reason by the length rule, never cut short by the browser.
"""

from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from threshold.accounts import selectors, services


def _plain(form: forms.BaseForm, labels: dict[str, Any]) -> None:
    """Our labels; no placeholders that repeat them; no help text we draw ourselves."""
    for name, field in form.fields.items():
        field.widget.attrs.pop("placeholder", None)
        if name in labels:
            field.label = labels[name]


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain(self, {"login": _("Email"), "password": _("Password"), "remember": _("Keep me signed in")})
        self.fields["login"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].help_text = ""  # the template shows "Forgot password?" by the label
        if "remember" in self.fields:
            days = max(1, settings.SESSION_COOKIE_AGE // 86400)
            self.fields["remember"].help_text = ngettext(
                "For %(days)d day on this device. Don't choose this on a shared or public computer.",
                "For %(days)d days on this device. Don't choose this on a shared or public computer.",
                days,
            ) % {"days": days}


class SignupForm(allauth_forms.SignupForm):
    field_order = ["given_name", "family_name", "email", "password1"]
    account_already_exists: bool
    # The unverified sign-ups holding the address, which this one replaces when it is saved.
    replaces: list[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replaces = []
        _plain(self, {"email": _("Email"), "password1": _("Password")})
        self.fields["email"].help_text = _("We'll send a code to this address to confirm that it's yours.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and "password1" not in self.errors:
            # allauth checks the password against the email only; the names typed into
            # this same form are just as guessable.
            person = get_user_model()(
                email=cleaned.get("email") or "",
                given_name=cleaned.get("given_name") or "",
                family_name=cleaned.get("family_name") or "",
            )
            try:
                password_validation.validate_password(password, user=person)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def validate_unique_email(self, value: str) -> str:
        email = super().validate_unique_email(value)
        self.replaces = []
        if self.account_already_exists:
            # Sign-ups with this address that nobody verified do not hold it: this one replaces
            # them (accounts.services.replace_unverified_sign_ups), with the same answer.
            self.replaces = selectors.sign_ups_replaced_by(email)
            self.account_already_exists = not self.replaces
        return email

    def try_save(self, request: HttpRequest) -> tuple[Any, Any]:
        if not self.replaces:
            return self._save_or_tell(request)
        with transaction.atomic():
            replaced = services.replace_unverified_sign_ups(user_ids=self.replaces, request=request)
            # Verified in the meantime: answered as any address that has an account.
            self.account_already_exists = not replaced
            return self._save_or_tell(request)

    def _save_or_tell(self, request: HttpRequest) -> tuple[Any, Any]:
        if self.account_already_exists and self.cleaned_data.get("password1"):
            # SECURITY: a new account costs one password hash; allauth's "this address has an
            # account already" answer cost none, so the response time told the two apart.
            make_password(self.cleaned_data["password1"])
        return super().try_save(request)


def _single_password(form: forms.BaseForm) -> None:
    # One new-password field with a show/hide toggle instead of "type it again": the toggle
    # catches typos without doubling the work (and the reset flow is there if all else fails).
    form.fields.pop("password2", None)


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _single_password(self)
        _plain(self, {"oldpassword": _("Current password"), "password1": _("New password")})
        self.fields["oldpassword"].help_text = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") == cleaned.get("oldpassword"):
            # Above all for a password an administrator issued (``createadmin``): keeping it
            # would keep a password that someone else has seen.
            self.add_error("password1", _("Choose a password different from your current one."))
        return cleaned


class SetPasswordForm(allauth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _single_password(self)
        _plain(self, {"password1": _("New password")})


class ReauthenticateForm(allauth_forms.ReauthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain(self, {"password": _("Password")})
        self.fields["password"].help_text = ""


class _CodeMixin:
    fields: dict[str, forms.Field]

    def _code_field(self) -> None:
        _plain(self, {"code": _("Code")})  # type: ignore[arg-type]
        self.fields["code"].widget.attrs.update(
            {"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "one-time-code"}
        )


class ConfirmEmailVerificationCodeForm(_CodeMixin, allauth_forms.ConfirmEmailVerificationCodeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._code_field()


class ConfirmReauthenticationCodeForm(_CodeMixin, allauth_forms.ConfirmReauthenticationCodeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._code_field()
