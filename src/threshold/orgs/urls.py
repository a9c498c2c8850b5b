from django.urls import path

from threshold.orgs import views

urlpatterns = [
    path("organizations/", views.organizations, name="organizations"),
    path("organizations/set-up/", views.set_up, name="orgs_set_up"),
    path("organizations/welcome/<str:token>/", views.welcome, name="orgs_welcome"),
    path("organizations/<uuid:public_id>/leave/", views.leave, name="orgs_leave"),
    path("organizations/branding/<uuid:public_id>.css", views.branding_css, name="orgs_branding_css"),
    path("organizations/branding/<uuid:public_id>/logo", views.logo, name="orgs_logo"),
]
