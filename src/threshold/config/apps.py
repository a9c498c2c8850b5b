"""The staff admin's app: Django's admin, with the site that signs in through the portal."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    # A dotted path, imported once the apps are loaded (the site reads the security app).
    default_site = "threshold.config.staff.StaffAdminSite"
