from django.urls import path

from threshold.devices import views

urlpatterns = [
    path("devices/", views.devices, name="devices"),
    path("devices/<uuid:public_id>/rename/", views.rename, name="device_rename"),
    path("devices/<uuid:public_id>/remove/", views.remove, name="device_remove"),
    path("devices/lock/", views.lock, name="account_lock"),
    path("account-locked/", views.locked, name="account_locked"),
]
