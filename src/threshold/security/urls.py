from django.urls import path

from threshold.security.views.challenge import challenge
from threshold.security.views.methods import (
    add_method,
    add_text_message,
    make_default,
    remove_method,
    rename_method,
    security_info,
)
from threshold.security.views.passwords import remove_password
from threshold.security.views.recovery_codes import (
    recovery_codes,
    recovery_codes_done,
    recovery_codes_download,
    recovery_codes_new,
    recovery_codes_print,
)
from threshold.security.views.removal_wait import (
    not_me,
    removal_cancel,
    removal_cancel_link,
    removal_cancel_page,
    removal_confirm,
)
from threshold.security.views.trusted_devices import forget_trusted_devices
from threshold.security.views.two_step import two_step_off, two_step_on

urlpatterns = [
    path("", security_info, name="security_info"),
    path("add/", add_method, name="security_add_method"),
    path("add/text-message/", add_text_message, name="security_add_text_message"),
    path("methods/<uuid:public_id>/remove/", remove_method, name="security_remove_method"),
    path("methods/<uuid:public_id>/rename/", rename_method, name="security_rename_method"),
    path("methods/<uuid:public_id>/default/", make_default, name="security_make_default"),
    path("password/remove/", remove_password, name="security_remove_password"),
    path("two-step/on/", two_step_on, name="security_two_step_on"),
    path("two-step/off/", two_step_off, name="security_two_step_off"),
    path("recovery-codes/", recovery_codes, name="security_recovery_codes"),
    path("recovery-codes/new/", recovery_codes_new, name="security_recovery_codes_new"),
    path("recovery-codes/download/", recovery_codes_download, name="security_recovery_codes_download"),
    path("recovery-codes/print/", recovery_codes_print, name="security_recovery_codes_print"),
    path("recovery-codes/done/", recovery_codes_done, name="security_recovery_codes_done"),
    path("trusted-devices/forget/", forget_trusted_devices, name="security_forget_trusted_devices"),
    path("verify/", challenge, name="security_challenge"),
    path("not-me/", not_me, name="security_not_me"),
    path("removals/<uuid:public_id>/confirm/", removal_confirm, name="security_removal_confirm"),
    path("removals/<uuid:public_id>/cancel/", removal_cancel, name="security_removal_cancel"),
    path("removals/cancel/", removal_cancel_page, name="security_removal_cancel_page"),
    path("removals/cancel/<str:token>/", removal_cancel_link, name="security_removal_cancel_link"),
]
