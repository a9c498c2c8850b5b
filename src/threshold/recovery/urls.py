from django.urls import path

from threshold.recovery import views

urlpatterns = [
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/export/", views.export, name="data_export"),
    path("privacy/export/<uuid:public_id>/download/", views.download, name="data_export_download"),
    path("privacy/close/", views.close, name="account_close"),
    path("privacy/reopen/", views.reopen, name="account_reopen"),
    path("account-closing/", views.closing, name="account_closing"),
    # "Can't sign in?" and resetting a forgotten password
    path("recover/", views.recover, name="recover"),
    path("recover/password/", views.reset_start, name="recover_password"),
    path("recover/password/send/", views.reset_send, name="recover_password_send"),
    path("recover/password/code/", views.reset_code, name="recover_password_code"),
    path("recover/password/link/", views.reset_link, name="recover_password_link"),
    path("recover/password/link/<str:token>/", views.reset_link_token, name="recover_password_link_token"),
    path("recover/password/verify/", views.reset_verify, name="recover_password_verify"),
    path("recover/password/new/", views.reset_new_password, name="recover_password_new"),
    path("recover/set-up/", views.set_up, name="recovery_set_up"),
    path("recover/set-up/codes/", views.set_up_codes, name="recovery_set_up_codes"),
    path("recover/set-up/not-now/", views.set_up_dismiss, name="recovery_set_up_dismiss"),
    path("recover/access-pass/", views.access_pass_sign_in, name="access_pass_sign_in"),
    # Account recovery (signed out)
    path("recover/second-method/", views.recover_second_method, name="recover_second_method"),
    path(
        "recover/second-method/email/", views.recover_second_method_email, name="recover_second_method_email"
    ),
    path(
        "recover/second-method/phone/", views.recover_second_method_phone, name="recover_second_method_phone"
    ),
    path(
        "recover/second-method/waiting/",
        views.recover_second_method_waiting,
        name="recover_second_method_waiting",
    ),
    path(
        "recover/second-method/new-password/",
        views.recover_second_method_password,
        name="recover_second_method_password",
    ),
    path("recover/second-method/continue/", views.recover_continue, name="recover_continue"),
    path(
        "recover/second-method/continue/<str:token>/",
        views.recover_continue_link,
        name="recover_continue_link",
    ),
    path("recover/cancel/", views.recover_cancel, name="recover_cancel"),
    path("recover/cancel/<str:token>/", views.recover_cancel_link, name="recover_cancel_link"),
    path("recover/request/", views.recover_request, name="recover_request"),
    path("recover/request/confirm/", views.recover_request_confirm, name="recover_request_confirm"),
    path("recover/request/sent/", views.recover_request_sent, name="recover_request_sent"),
    path("recover/complete/", views.recover_complete, name="recover_complete"),
    path("recover/complete/<str:token>/", views.recover_complete_link, name="recover_complete_link"),
]
