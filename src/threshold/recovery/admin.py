"""Staff admin (``/staff/``): Temporary Access Passes, metadata only, with "revoke"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from threshold.recovery import services
from threshold.recovery.models import TemporaryAccessPass


@admin.register(TemporaryAccessPass)
class TemporaryAccessPassAdmin(admin.ModelAdmin[TemporaryAccessPass]):
    """SECURITY: the pass's hash is never shown; passes are issued only by the service
    (``threshold issue_access_pass``, later the organisation admin console), never typed here."""

    list_display = (
        "user",
        "status",
        "one_time",
        "created_at",
        "expires_at",
        "use_count",
        "used_at",
        "revoked_at",
        "issued_by",
    )
    list_filter = ("one_time",)
    search_fields = ("user__email", "public_id")
    ordering = ("-created_at",)
    list_select_related = ("user", "issued_by")
    fields = (
        "public_id",
        "user",
        "issued_by",
        "created_at",
        "expires_at",
        "one_time",
        "use_count",
        "used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Status"))
    def status(self, obj: TemporaryAccessPass) -> str:
        return obj.status

    @admin.action(description=_("Revoke the selected passes"), permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[TemporaryAccessPass]) -> None:
        revoked = sum(
            services.revoke_access_pass(access_pass=access_pass, revoked_by=request.user, request=request)
            for access_pass in queryset.select_related("user")
        )
        self.message_user(
            request,
            ngettext("%(count)d pass was revoked.", "%(count)d passes were revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )
