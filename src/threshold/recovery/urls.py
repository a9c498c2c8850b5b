from django.urls import path

from threshold.recovery import views

urlpatterns = [
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/export/", views.export, name="data_export"),
    path("privacy/export/<uuid:public_id>/download/", views.download, name="data_export_download"),
    path("privacy/close/", views.close, name="account_close"),
    path("privacy/reopen/", views.reopen, name="account_reopen"),
    path("account-closing/", views.closing, name="account_closing"),
]
