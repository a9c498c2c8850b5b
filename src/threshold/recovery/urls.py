from django.urls import path

from threshold.recovery.views import (
    access_pass,
    account_recovery,
    password_reset,
    privacy,
    recovery_requests,
    set_up,
)

urlpatterns = [
    path("privacy/", privacy.privacy, name="privacy"),
    path("privacy/export/", privacy.export, name="data_export"),
    path("privacy/export/<uuid:public_id>/download/", privacy.download, name="data_export_download"),
    path("privacy/close/", privacy.close, name="account_close"),
    path("privacy/reopen/", privacy.reopen, name="account_reopen"),
    path("account-closing/", privacy.closing, name="account_closing"),
    # "Can't sign in?" and resetting a forgotten password
    path("recover/", password_reset.recover, name="recover"),
    path("recover/password/", password_reset.reset_start, name="recover_password"),
    path("recover/password/send/", password_reset.reset_send, name="recover_password_send"),
    path("recover/password/code/", password_reset.reset_code, name="recover_password_code"),
    path("recover/password/link/", password_reset.reset_link, name="recover_password_link"),
    path(
        "recover/password/link/<str:token>/",
        password_reset.reset_link_token,
        name="recover_password_link_token",
    ),
    path("recover/password/verify/", password_reset.reset_verify, name="recover_password_verify"),
    path("recover/password/new/", password_reset.reset_new_password, name="recover_password_new"),
    path("recover/set-up/", set_up.set_up, name="recovery_set_up"),
    path("recover/set-up/codes/", set_up.set_up_codes, name="recovery_set_up_codes"),
    path("recover/set-up/not-now/", set_up.set_up_dismiss, name="recovery_set_up_dismiss"),
    path("recover/access-pass/", access_pass.access_pass_sign_in, name="access_pass_sign_in"),
    # Account recovery (signed out)
    path("recover/second-method/", account_recovery.recover_second_method, name="recover_second_method"),
    path(
        "recover/second-method/email/",
        account_recovery.recover_second_method_email,
        name="recover_second_method_email",
    ),
    path(
        "recover/second-method/phone/",
        account_recovery.recover_second_method_phone,
        name="recover_second_method_phone",
    ),
    path(
        "recover/second-method/waiting/",
        account_recovery.recover_second_method_waiting,
        name="recover_second_method_waiting",
    ),
    path(
        "recover/second-method/new-password/",
        account_recovery.recover_second_method_password,
        name="recover_second_method_password",
    ),
    path("recover/second-method/continue/", account_recovery.recover_continue, name="recover_continue"),
    path(
        "recover/second-method/continue/<str:token>/",
        account_recovery.recover_continue_link,
        name="recover_continue_link",
    ),
    path("recover/cancel/", account_recovery.recover_cancel, name="recover_cancel"),
    path("recover/cancel/<str:token>/", account_recovery.recover_cancel_link, name="recover_cancel_link"),
    path("recover/request/", recovery_requests.recover_request, name="recover_request"),
    path(
        "recover/request/confirm/", recovery_requests.recover_request_confirm, name="recover_request_confirm"
    ),
    path("recover/request/sent/", recovery_requests.recover_request_sent, name="recover_request_sent"),
    path("recover/complete/", recovery_requests.recover_complete, name="recover_complete"),
    path(
        "recover/complete/<str:token>/", recovery_requests.recover_complete_link, name="recover_complete_link"
    ),
]
