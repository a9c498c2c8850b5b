"""Forms for adding, renaming and removing sign-in methods (allauth's authenticator app set-up included)."""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from threshold.accounts.models import PhoneNumber
from threshold.core.errors import PolicyDenied
from threshold.security import totp
from threshold.security.models import MethodKind
from threshold.security.services.methods import check_may_add_method


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
            check_may_add_method(user=self.user, request=context.request, kind=MethodKind.AUTHENTICATOR_APP)
        except PolicyDenied as exc:
            raise ValidationError(exc.decision.message, code=exc.decision.reason_code) from exc
        if not self.errors:
            totp.finish_setup(context.request.session, cleaned.get("name", "").strip())
        return cleaned


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


class RenameMethodForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Enter a name."), code="required")
        return name
