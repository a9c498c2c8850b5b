from django.urls import path

from threshold.recovery import views

urlpatterns = [
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/export/", views.export, name="data_export"),
    path("privacy/export/<uuid:public_id>/download/", views.download, name="data_export_download"),
    path("privacy/close/", views.close, name="account_close"),
    path("privacy/reopen/", views.reopen, name="account_reopen"),
    path("account-closing/", views.closing, name="account_closing"),
    path("recover/set-up/", views.set_up, name="recovery_set_up"),
    path("recover/set-up/codes/", views.set_up_codes, name="recovery_set_up_codes"),
    path("recover/set-up/not-now/", views.set_up_dismiss, name="recovery_set_up_dismiss"),
    path("recover/access-pass/", views.access_pass_sign_in, name="access_pass_sign_in"),
]
