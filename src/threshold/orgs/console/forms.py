"""The admin console's forms: validation only; the changes are the console actions'."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from threshold.activity.forms import EventDateField
from threshold.activity.models import Result
from threshold.orgs import licences
from threshold.orgs.console.selectors import (
    DEFAULT_STALE_DAYS,
    Log,
    LogFilter,
    MemberFilter,
    MemberQuery,
    audit_label,
    log_codes,
)
from threshold.orgs.models import Organization, OrganizationPolicy, Role
from threshold.orgs.services import BRANDING_FIELDS, POLICY_FIELDS


class _QueryForm(forms.Form):
    def query(self) -> str:
        """The filters as a query string for the next page ("" when there are none)."""
        if not self.is_valid():
            return ""
        return urlencode({k: v for k, v in self.data.items() if k in self.fields and v})


class MemberSearchForm(_QueryForm):
    q = forms.CharField(label=_("Name or email"), required=False, max_length=120)
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (MemberFilter.ALL, _("Everyone")),
            (MemberFilter.NO_TWO_STEP, _("Without two-step verification")),
            (MemberFilter.STALE, _("No sign-in for a while")),
            (MemberFilter.BLOCKED, _("Blocked or locked")),
        ],
    )
    stale_days = forms.IntegerField(
        label=_("“A while” is (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        initial=DEFAULT_STALE_DAYS,
    )
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any role")), *Role.choices])

    def member_query(self) -> MemberQuery:
        if not self.is_valid():
            return MemberQuery()
        data = self.cleaned_data
        return MemberQuery(
            search=data.get("q") or "",
            show=MemberFilter(data.get("show") or MemberFilter.ALL),
            role=data.get("role") or "",
            stale_days=data.get("stale_days") or DEFAULT_STALE_DAYS,
        )


class LogFilterForm(_QueryForm):
    person = forms.CharField(label=_("Person (email)"), required=False, max_length=254)
    code = forms.ChoiceField(label=_("Event"), required=False)
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any result")), *Result.choices]
    )
    start = EventDateField(label=_("From"), required=False)
    end = EventDateField(label=_("To"), required=False)

    def __init__(self, *args: Any, log: Log, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        events = sorted(((code, audit_label(code)) for code in log_codes(log)), key=lambda pair: pair[1])
        code_field = self.fields["code"]
        assert isinstance(code_field, forms.ChoiceField)
        code_field.choices = [("", _("Every event")), *events]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date. Choose a later end date."))
        return data

    def filters(self) -> LogFilter:
        if not self.is_valid():
            return LogFilter()
        data = self.cleaned_data
        return LogFilter(
            person=data.get("person") or "",
            result=data.get("result") or "",
            code=data.get("code") or "",
            start=data.get("start"),
            end=data.get("end"),
        )


class AccessPassForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("Works for (minutes)"),
        min_value=settings.ACCESS_PASS_MINUTES_BOUNDS[0],
        max_value=settings.ACCESS_PASS_MINUTES_BOUNDS[1],
        initial=settings.ACCESS_PASS_MINUTES,
    )
    one_time = forms.BooleanField(label=_("Works only once"), required=False, initial=True)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    given_name = forms.CharField(label=_("First name"), required=False, max_length=80)
    family_name = forms.CharField(label=_("Last name"), required=False, max_length=80)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "The first line names the columns: email, and optionally given_name, family_name and role "
            "(member, helpdesk admin or global admin). UTF-8, at most 500 people."
        ),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


# What each policy setting does, in words, shown under it on the Policies page.
EXPLANATIONS: dict[str, Any] = {
    "require_two_step": _(
        "Members must sign in with a second method as well as their password. They are asked at each "
        "sign-in during the days below, then can't go on without it."
    ),
    "two_step_grace_days": _("How many days members have to set it up once it is required (0 to 90)."),
    "text_messages": _("Text-message codes can be intercepted; an authenticator app or a passkey is safer."),
    "require_passkey_for_admins": _("Admins must have a passkey, which can't be phished."),
    "self_service_password_reset": _(
        "Members can reset a forgotten password themselves; when off, an admin resets it here."
    ),
    "reset_methods_required": _("How many of their sign-in methods a self-service reset checks (1 or 2)."),
    "password_min_length": _("8 to 64 characters. Passwords never expire: regular changes make them weaker."),
    "password_banned_words": _("Words no password may contain, one per line, such as your company's name."),
    "lock_names": _("Members can't change their names: they come from your directory."),
    "lock_photo": _("Members can't change their photo."),
    "lock_phones": _("Members can't add or remove phone numbers."),
    "lock_emails": _("Members can't add or remove email addresses."),
    "profile_lock_reason": _(
        "Shown beside each managed field, after “Managed by” and your organization's name."
    ),
    "session_lifetime_hours": _("Sign members out this many hours after they sign in. Empty: no limit."),
    "sign_in_frequency_hours": _("Ask for the password again after this many hours. Empty: never."),
    "members_may_close_account": _("Members can close their own work account from Privacy."),
    "members_may_remove_devices": _("Members can remove devices from their Devices page."),
    "unfamiliar_sign_in": _(
        "What happens when a sign-in doesn't look like the person (new device or country)."
    ),
    "activity_retention_days": _(
        "Keep members' sign-in activity this many days (30 to 730). Empty: the default."
    ),
}


class PolicyForm(forms.ModelForm):
    """The policy settings; the bounds are the model's validators, checked again by update_policy."""

    password_banned_words = forms.CharField(
        label=_("Banned words in passwords"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = OrganizationPolicy
        fields = list(POLICY_FIELDS)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["password_banned_words"] = "\n".join(self.instance.password_banned_words or [])
        self.premium_only: list[str] = []
        for name, field in self.fields.items():
            field.help_text = EXPLANATIONS.get(name, "")
            feature = licences.POLICY_FIELD_FEATURES.get(name)
            if feature is not None and not licences.has_feature(organization, feature):
                field.disabled = True
                field.help_text = (
                    f"{field.help_text} {licences.feature_decision(organization, feature).message}"
                )
                self.premium_only.append(name)

    def changes(self) -> dict[str, Any]:
        """The submitted settings, for update_policy (which refuses what the licence lacks)."""
        data = dict(self.cleaned_data)
        words = data.get("password_banned_words") or ""
        data["password_banned_words"] = [
            w.strip() for w in words.replace(",", "\n").splitlines() if w.strip()
        ]
        return {k: v for k, v in data.items() if k in POLICY_FIELDS and k not in self.premium_only}


class BrandingForm(forms.Form):
    accent_colour = forms.RegexField(
        label=_("Accent colour"),
        regex=r"^(#[0-9a-fA-F]{6})?$",
        required=False,
        max_length=7,
        help_text=_("# and six hexadecimal digits, such as #0f6cbd. Empty: the portal's own colour."),
        error_messages={"invalid": _("Enter a colour as # and six hexadecimal digits, such as #0f6cbd.")},
    )
    sign_in_text = forms.CharField(
        label=_("Sign-in text"),
        required=False,
        max_length=140,
        help_text=_("One line on the sign-in page once someone types an address in your domain."),
    )
    logo = forms.FileField(
        label=_("Logo"), required=False, help_text=_("PNG, JPEG, WebP or GIF; shown small.")
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def changes(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) or "" for k in BRANDING_FIELDS}
