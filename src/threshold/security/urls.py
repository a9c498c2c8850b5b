from django.urls import path

from threshold.security import views

urlpatterns = [
    path("", views.security_info, name="security_info"),
    path("add/", views.add_method, name="security_add_method"),
    path("add/text-message/", views.add_text_message, name="security_add_text_message"),
    path("methods/<uuid:public_id>/remove/", views.remove_method, name="security_remove_method"),
    path("methods/<uuid:public_id>/rename/", views.rename_method, name="security_rename_method"),
    path("methods/<uuid:public_id>/default/", views.make_default, name="security_make_default"),
    path("password/remove/", views.remove_password, name="security_remove_password"),
    path("two-step/on/", views.two_step_on, name="security_two_step_on"),
    path("two-step/off/", views.two_step_off, name="security_two_step_off"),
    path("recovery-codes/", views.recovery_codes, name="security_recovery_codes"),
    path("recovery-codes/new/", views.recovery_codes_new, name="security_recovery_codes_new"),
    path("recovery-codes/download/", views.recovery_codes_download, name="security_recovery_codes_download"),
    path("recovery-codes/print/", views.recovery_codes_print, name="security_recovery_codes_print"),
    path("recovery-codes/done/", views.recovery_codes_done, name="security_recovery_codes_done"),
    path("trusted-devices/forget/", views.forget_trusted_devices, name="security_forget_trusted_devices"),
    path("verify/", views.challenge, name="security_challenge"),
    path("not-me/", views.not_me, name="security_not_me"),
    path("removals/<uuid:public_id>/confirm/", views.removal_confirm, name="security_removal_confirm"),
    path("removals/<uuid:public_id>/cancel/", views.removal_cancel, name="security_removal_cancel"),
    path("removals/cancel/", views.removal_cancel_page, name="security_removal_cancel_page"),
    path("removals/cancel/<str:token>/", views.removal_cancel_link, name="security_removal_cancel_link"),
]
