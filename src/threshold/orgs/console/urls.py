"""The admin console's pages, all under /admin-console/ (namespace ``console``).

tests/orgs/test_console_isolation.py walks this list, so a page added here is tested for
isolation without anyone remembering to.
"""

from django.urls import path

from threshold.orgs.console import views

app_name = "console"

urlpatterns = [
    path("", views.members, name="members"),
    path("members/invite/", views.invite, name="invite"),
    path("members/import/", views.import_members, name="import"),
    path("members/<uuid:public_id>/", views.member, name="member"),
    path("members/<uuid:public_id>/reset-password/", views.reset_password, name="reset_password"),
    path("members/<uuid:public_id>/reset-methods/", views.reset_methods, name="reset_methods"),
    path("members/<uuid:public_id>/sign-out/", views.sign_out, name="sign_out"),
    path("members/<uuid:public_id>/access-pass/", views.access_pass, name="access_pass"),
    path("members/<uuid:public_id>/block/", views.block, name="block"),
    path("members/<uuid:public_id>/unblock/", views.unblock, name="unblock"),
    path("members/<uuid:public_id>/remove/", views.remove, name="remove"),
    path("sign-ins/", views.sign_ins, name="sign_ins"),
    path("sign-ins/export.csv", views.sign_ins_export, name="sign_ins_export"),
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("policies/", views.policies_page, name="policies"),
    path("branding/", views.branding, name="branding"),
    path("admins/", views.admins, name="admins"),
    path("admins/<uuid:public_id>/role/", views.set_role, name="set_role"),
]
