"""Staff admin (``/staff/``): allauth.mfa's authenticators, as metadata only.

SECURITY: an authenticator's ``data`` holds an authenticator app's (encrypted) secret or a
passkey's credential; no admin page shows it. Rows are read-only here: methods are added and
removed by their owner or through ``security.services``, never typed in.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.http import HttpRequest

# Importing allauth's admin module above registered its own; this takes its place whatever
# the order of INSTALLED_APPS (admin autodiscovery imports that module only once).
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AllauthAuthenticatorAdmin):
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
