from django.urls import path

from threshold.accounts import views

urlpatterns = [
    path("", views.overview, name="overview"),
    # allauth's page, whose "Send a new code" does the same work for any address; under
    # allauth's own name, on which threshold.orgs.middleware keys its lock of addresses.
    path(
        "accounts/confirm-email/",
        views.ConfirmEmailCodeView.as_view(),
        name="account_email_verification_sent",
    ),
    # allauth's page, saved in one transaction; under allauth's own name.
    path("accounts/signup/", views.SignupView.as_view(), name="account_signup"),
    path("your-info/", views.your_info, name="your_info"),
    path("your-info/photo/", views.upload_photo, name="upload_photo"),
    path("your-info/photo/remove/", views.remove_photo, name="remove_photo"),
    path("your-info/photo/<uuid:public_id>/", views.profile_photo, name="profile_photo"),
    path("your-info/phones/add/", views.add_phone, name="add_phone"),
    path("your-info/phones/<uuid:public_id>/verify/", views.verify_phone, name="verify_phone"),
    path("your-info/phones/<uuid:public_id>/resend/", views.resend_phone_code, name="resend_phone_code"),
    path("your-info/phones/<uuid:public_id>/primary/", views.make_phone_primary, name="make_phone_primary"),
    path("your-info/phones/<uuid:public_id>/remove/", views.remove_phone, name="remove_phone"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]
