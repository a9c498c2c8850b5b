"""Staff admin (``/staff/``): allauth.usersessions' sessions, read-only.

SECURITY: a session key is the cookie that signs its holder in; no admin page shows it,
whatever allauth's model declares. Sessions end through ``devices.services`` (Devices, "Lock my
account"), which records each.
"""

from __future__ import annotations

from typing import Any

from allauth.usersessions.admin import UserSessionAdmin as AllauthUserSessionAdmin
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.http import HttpRequest

# Importing allauth's admin module above registered its own; this takes its place whatever
# the order of INSTALLED_APPS (admin autodiscovery imports that module only once).
admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(AllauthUserSessionAdmin):
    fields = ("user", "created_at", "last_seen_at", "ip", "user_agent")
    readonly_fields = fields
    # allauth's searched user__username, which Threshold's accounts do not have.
    search_fields = ["user__email", "ip"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
