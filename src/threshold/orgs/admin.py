"""The operator's view of organisations in the staff admin (/staff/).

The operator sets each organisation's licence and verified domains here; an organisation's
own admins change its policies in the admin console through ``orgs.services``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from threshold.orgs import licences, services
from threshold.orgs.models import Membership, Organization, OrganizationPolicy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = OrganizationPolicy
        fields = list(services.POLICY_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organization = getattr(self.instance, "organization", None) if self.instance.pk else None
        defaults = OrganizationPolicy()
        for field, feature in licences.POLICY_FIELD_FEATURES.items():
            if field in self.changed_data and cleaned.get(field) != getattr(defaults, field):
                decision = licences.feature_decision(organization, feature)
                if not decision.allowed:
                    self.add_error(field, ValidationError(decision.message))
        return cleaned


class PolicyInline(admin.StackedInline):
    model = OrganizationPolicy
    form = PolicyForm
    can_delete = False
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "home", "created_at")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "licence", "created_at")
    list_filter = ("licence",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = (
        "name",
        "slug",
        "licence",
        "verified_domains",
        "contact",
        "guests_may_leave",
        "accent_colour",
        "sign_in_text",
    )
    inlines = (PolicyInline, MembershipInline)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Policy changes go through the service, so each is recorded with its before and after."""
        if formset.model is not OrganizationPolicy:
            super().save_formset(request, form, formset, change)
            return
        for policy_form in formset.forms:
            changes = {
                f: policy_form.cleaned_data[f]
                for f in policy_form.changed_data
                if f in services.POLICY_FIELDS
            }
            if changes or not policy_form.instance.pk:
                services.update_policy(
                    organization=form.instance, actor=request.user, request=request, changes=changes
                )
        # What the admin's history message reads; the service recorded the details.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
