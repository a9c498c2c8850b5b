"""The operator's view of organisations in the staff admin (/staff/).

The operator sets each organisation's licence and verified domains here; an organisation's
own admins change its policies in the admin console through ``orgs.services``.
"""

from __future__ import annotations

from django.contrib import admin

from threshold.orgs.models import Membership, Organization, OrganizationPolicy


class PolicyInline(admin.StackedInline):
    model = OrganizationPolicy
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
