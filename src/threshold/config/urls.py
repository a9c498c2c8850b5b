from django.contrib import admin
from django.urls import include, path, re_path, reverse_lazy
from django.views.generic import RedirectView

from threshold.core import views as core_views

urlpatterns = [
    path("", include("threshold.accounts.urls")),
    path("security/", include("threshold.security.urls")),
    # allauth.mfa's overview (where its pages return after a change) is Security info.
    path("accounts/2fa/", RedirectView.as_view(pattern_name="security_info")),
    # Passkeys are listed, renamed and removed on Security info, through our services.
    path("accounts/2fa/webauthn/", RedirectView.as_view(pattern_name="security_info")),
    path(
        "accounts/2fa/webauthn/keys/<int:pk>/<str:action>/",
        RedirectView.as_view(url=reverse_lazy("security_info")),
    ),
    # Forgotten passwords are reset by threshold.recovery (email or phone, and the second
    # method when two-step verification is on); allauth's reset pages, its links and codes
    # included, lead there. SECURITY: the redirect drops whatever followed, keys included.
    re_path(r"^accounts/password/reset/", RedirectView.as_view(pattern_name="recover_password")),
    path("accounts/", include("allauth.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("outbox/", core_views.outbox, name="outbox"),
    path("", include("threshold.activity.urls")),
    path("", include("threshold.devices.urls")),
    path("", include("threshold.recovery.urls")),
    path("", include("threshold.orgs.urls")),
    path("admin-console/", include("threshold.orgs.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", admin.site.urls),
]
