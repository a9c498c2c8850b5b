"""Staff admin (``/staff/``): background tasks (django-tasks-db), without their arguments.

SECURITY: a task's arguments may carry what it is to deliver (an address, a message with a
code in it); the admin shows which task ran and how it went, never what it was given.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_tasks_db.admin import DBTaskResultAdmin as StockDBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

HIDDEN = {"args_kwargs"}

# Importing the stock admin module above registered it; this takes its place whatever the
# order of INSTALLED_APPS (admin autodiscovery imports that module only once).
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class DBTaskResultAdmin(StockDBTaskResultAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for name in super().get_readonly_fields(request, obj) if name not in HIDDEN]
