"""allauth's entrance and password forms in our words (wired through ``ACCOUNT_FORMS``).

These live apart from ``forms.py`` because allauth imports ``ACCOUNT_SIGNUP_FORM_CLASS``
(``forms.SignupDetailsForm``) while it loads its own forms: ``forms.py`` must never import
them back.

Every password input accepts pasting and has no ``maxlength``: a password manager's long
password is refused with a reason by the length rule, never cut short by the browser.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from allauth.account import forms as allauth_forms
from allauth.account import signals as account_signals
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
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
        # Read for every address, so that a new one makes the same query as a taken one.
        replaceable = selectors.sign_ups_replaced_by(email)
        self.replaces = []
        if self.account_already_exists:
            # Sign-ups with this address that nobody verified do not hold it: this one replaces
            # them (accounts.services.replace_unverified_sign_ups), with the same answer.
            self.replaces = replaceable
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
        if self.account_already_exists:
            self._sign_up_stand_in(request)
        return super().try_save(request)

    def _sign_up_stand_in(self, request: HttpRequest) -> None:
        """Sign up a stand-in account, as a new address would be, and undo it.

        SECURITY: allauth answers a sign-up with an address that already has an account as if
        it were new (``ACCOUNT_PREVENT_ENUMERATION``) but did none of a new account's work: no
        password hash, no account, address or event written, none of the reads that follow.
        Eleven statements fewer, a difference anyone could time. So the same work is done here:
        this form, copied with an address nobody can hold (``<random>@stand-in.invalid``), is
        saved by allauth's own ``save`` (our adapter, the same hash, account and address rows),
        ``user_signed_up`` is sent as for a new account (the same event row), and the reads of
        allauth's "confirm your address" step are made (``selectors.read_as_for_a_new_sign_up``);
        then a private exception rolls the savepoint back. Nothing of it survives: the rows go
        with the savepoint, whatever waited for the commit (an alert) is dropped with it, and
        nothing here touches the session, the cache or the mail. ``user_signed_up`` receivers
        must therefore write only to the database or on commit. The answer and the one message
        queued ("you already have an account") are allauth's, after this.
        ``tests/accounts/test_same_work.py`` holds both paths to the same statements.
        """
        stand_in = copy.copy(self)
        stand_in.cleaned_data = {**self.cleaned_data, "email": f"{uuid.uuid4().hex}@stand-in.invalid"}
        stand_in.account_already_exists = False
        try:
            with transaction.atomic():
                user = stand_in.save(request)
                account_signals.user_signed_up.send(sender=user.__class__, request=request, user=user)
                selectors.read_as_for_a_new_sign_up(user)
                raise _StandInUndone
        except _StandInUndone:
            pass


class _StandInUndone(Exception):
    """Rolls back the stand-in sign-up; never leaves ``SignupForm._sign_up_stand_in``."""


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
