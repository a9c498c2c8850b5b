"""The staff admin (``/staff/``): Django's admin behind the portal's own sign-in.

SECURITY: the staff admin can hand any account to someone else (an approved recovery), so
it has no sign-in of its own. Its login and logout pages are the portal's, where every
throttle, the second step and the unfamiliar-sign-in rules apply; a session opens it only
when it proved a passkey or security key (``security.selectors.sign_in.staff_access``), and every
change made here needs that proof again from the last 10 minutes
(``security.selectors.sign_in.staff_change_is_fresh``). Each change is recorded on the operator's
Recent activity and on the account it touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import update_wrapper
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from allauth.account.views import LogoutView
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from threshold.activity.services import record_staff_change
from threshold.security.selectors.sign_in import staff_access, staff_change_is_fresh
from threshold.verification.sign_in import fresh_sign_in_seconds

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

ACTION_WORDS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


class StaffChangesRecorded(admin.ModelAdmin):
    """Mixed into every model admin of the staff site: each logged change is a security event."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _record(request, obj, ADDITION)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _record(request, obj, CHANGE)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            _record(request, obj, DELETION)
        return super().log_deletions(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Rows changed inline (an organisation's memberships) are each recorded too."""
        super().save_formset(request, form, formset, change)
        for obj in getattr(formset, "new_objects", []):
            _record(request, obj, ADDITION)
        for obj, _fields in getattr(formset, "changed_objects", []):
            _record(request, obj, CHANGE)
        for obj in getattr(formset, "deleted_objects", []):
            _record(request, obj, DELETION)


def _record(request: HttpRequest, obj: Model, flag: int) -> None:
    record_staff_change(
        operator=request.user,
        request=request,
        action=ACTION_WORDS[flag],
        what=obj._meta.label_lower,
        target=str(obj),
        account=account_of(obj),
    )


def account_of(obj: Any) -> Any:
    """The person a staff change touches: the account itself, or the account a row belongs to."""
    account_model = get_user_model()
    if isinstance(obj, account_model):
        return obj
    owner = getattr(obj, "user", None)
    return owner if isinstance(owner, account_model) else None


class StaffAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Threshold staff")
    site_title = gettext_lazy("Threshold staff")
    index_title = gettext_lazy("Staff admin")

    def register(
        self,
        model_or_iterable: type[Model] | Iterable[type[Model]],
        admin_class: type[admin.ModelAdmin] | None = None,
        **options: Any,
    ) -> None:
        """Every model admin, allauth's included, records its changes (``StaffChangesRecorded``)."""
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, StaffChangesRecorded):
            base = type(base.__name__, (StaffChangesRecorded, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        return staff_access(request, request.user).allowed

    def admin_view(self, view: ViewT, cacheable: bool = False) -> ViewT:
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = self.refusal(request)
            if refusal is not None:
                add_never_cache_headers(refusal)  # even where the page itself may be cached (jsi18n)
                return refusal
            return view(request, *args, **kwargs)

        # As Django's admin_view, with our refusals in place of its login redirect.
        wrapped: Callable[..., Any] = inner if cacheable else never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            wrapped = csrf_protect(wrapped)
        return cast(ViewT, update_wrapper(wrapped, view))

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        """Why this request may not go on, as the page to answer with; None when it may."""
        if request.path == reverse("admin:logout", current_app=self.name):
            return None  # the portal's sign-out, for whoever is signed in
        if not request.user.is_authenticated:
            return _to_sign_in(request.get_full_path())
        decision = staff_access(request, request.user)
        if not decision.allowed:
            return render(
                request,
                "staff/refused.html",
                {"message": decision.message, "reason": decision.reason_code},
                status=403,
            )
        if request.method not in ("GET", "HEAD", "OPTIONS") and not staff_change_is_fresh(
            request, request.user
        ):
            # SECURITY: refused before the view runs, so nothing changes; after the passkey
            # the operator lands back on the page and makes the change again.
            messages.warning(
                request,
                _(
                    "For your security, confirm it's you with your passkey or security key: changes in the "
                    "staff admin need one from the last %(minutes)d minutes. Nothing was changed."
                )
                % {"minutes": fresh_sign_in_seconds() // 60},
            )
            return redirect(
                reverse("mfa_reauthenticate_webauthn") + "?" + urlencode({"next": self._back(request)})
            )
        return None

    def _back(self, request: HttpRequest) -> str:
        """Where to return after confirming it's you: the staff page the change was made from."""
        index = reverse("admin:index", current_app=self.name)
        referer = request.headers.get("referer", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            if parts.path.startswith(index):
                return parts.path + (f"?{parts.query}" if parts.query else "")
        return request.path if request.path.endswith(("/change/", "/add/")) else index

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """There is no staff sign-in: the portal's sign-in, then back to where the operator was going."""
        wanted = request.GET.get("next", "")
        index = reverse("admin:index", current_app=self.name)
        if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
            wanted = index
        if request.user.is_authenticated:
            return redirect(wanted)
        return _to_sign_in(wanted)

    # The stubs promise a TemplateResponse; these answer with the portal's pages instead.
    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The portal's sign-out (a POST; a GET shows its confirmation page)."""
        return LogoutView.as_view()(request)

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Passwords are changed on Security info, with the portal's rules."""
        return redirect("account_change_password")

    def password_change_done(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("security_info")


def _to_sign_in(next_url: str) -> HttpResponse:
    return redirect(reverse("account_login") + "?" + urlencode({"next": next_url}))
