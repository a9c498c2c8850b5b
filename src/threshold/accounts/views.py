from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.views import ConfirmEmailVerificationCodeView
from allauth.account.views import SignupView as AllauthSignupView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.accounts import phones, photos, registry, selectors, services
from threshold.accounts.forms import PhoneCodeForm, PhoneNumberForm, PhotoForm, ProfileForm, RegionForm
from threshold.accounts.models import PhoneNumber
from threshold.activity import selectors as activity_selectors
from threshold.core.context import context_of
from threshold.core.errors import FreshSignInRequired

View = Callable[..., HttpResponse]


def sensitive(view: View) -> View:
    """Says why when a phone change needs a recent sign-in (the service decides).

    The refusal goes on to allauth's middleware, which keeps the request, asks the person
    to sign in again and then finishes it, as for allauth's own email changes.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except FreshSignInRequired as exc:
            messages.info(request, exc.message)
            raise

    return wrapper


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/overview.html",
        {
            "emails": selectors.email_addresses(user),  # type: ignore[arg-type]
            "phones": selectors.phone_numbers(user),  # type: ignore[arg-type]
            "last_sign_in": activity_selectors.last_sign_in(user),
            "recent_events": activity_selectors.events_for(user, limit=5),
            "session_count": selectors.session_count(user),  # type: ignore[arg-type]
            **registry.overview_notices(request),
        },
    )


def _your_info_page(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    user: Any = request.user
    context = {
        "profile_form": ProfileForm(
            initial={f: getattr(user, f) for f in ("given_name", "family_name", "display_name")}
        ),
        "region_form": RegionForm(initial={"locale": user.locale, "time_zone": user.time_zone}),
        "photo_form": PhotoForm(),
        "phone_form": PhoneNumberForm(
            initial={"region": phones.default_region(user.locale, context_of(request).country)}
        ),
        "emails": selectors.email_addresses(user),
        "phones": selectors.phone_numbers(user),
        "can_add_phone": selectors.can_add_phone(user),
        "max_phones": settings.PHONE_MAX_NUMBERS,
    }
    context.update(forms)
    return render(request, "accounts/your_info.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def your_info(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _your_info_page(request)
    if request.POST.get("section") == "region":
        form: ProfileForm | RegionForm = RegionForm(request.POST)
        bound = {"region_form": form}
    else:
        form = ProfileForm(request.POST)
        bound = {"profile_form": form}
    if form.is_valid():
        changed = services.update_profile(user=request.user, request=request, changes=form.cleaned_data)  # type: ignore[arg-type]
        if "locale" in changed:
            translation.activate(request.user.locale)  # type: ignore[union-attr]  # say so in the new language
        if changed:
            messages.success(request, _("Your changes were saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("your_info")
    messages.error(request, _("Nothing was saved. Correct the marked fields and try again."))
    return _your_info_page(request, status=400, **bound)


# --- Photo ----------------------------------------------------------------------------------


@login_required
@require_POST
def upload_photo(request: HttpRequest) -> HttpResponse:
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.update_photo(user=request.user, request=request, data=form.cleaned_data["photo"])  # type: ignore[arg-type]
        except ValidationError as exc:
            form.add_error("photo", exc)
        else:
            messages.success(request, _("Your photo was updated."))
            return redirect("your_info")
    messages.error(request, _("Your photo wasn't changed. See the message under Photo."))
    return _your_info_page(request, status=400, photo_form=form)


@login_required
@require_POST
def remove_photo(request: HttpRequest) -> HttpResponse:
    if services.remove_photo(user=request.user, request=request):  # type: ignore[arg-type]
        messages.success(request, _("Your photo was removed."))
    else:
        messages.info(request, _("You don't have a photo."))
    return redirect("your_info")


@require_GET
def profile_photo(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    user: Any = request.user
    # Only the owner sees it for now; anyone else, signed in or not, gets the same 404.
    if not user.is_authenticated or user.public_id != public_id:
        raise Http404
    photo = selectors.photo_of(user)
    if photo is None:
        raise Http404
    data, updated_at = photo
    response = HttpResponse(data, content_type=photos.content_type_of(data))
    # SECURITY: the bytes are our own re-encoded image, but the browser is still told never
    # to guess another type, to show it rather than save it, and to run nothing if the
    # URL is opened on its own.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = 'inline; filename="photo.webp"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Last-Modified"] = http_date(updated_at.timestamp())
    # Private: never in a shared cache. Its URL carries ?v=<time of change>, so a day is safe.
    patch_cache_control(response, private=True, max_age=24 * 3600)
    return response


# --- Phone numbers --------------------------------------------------------------------------


def _own_phone(request: HttpRequest, public_id: uuid.UUID) -> PhoneNumber:
    phone = selectors.phone_of(request.user, public_id)  # type: ignore[arg-type]
    if phone is None:
        raise Http404
    return phone


def _not_delivered(request: HttpRequest, phone: PhoneNumber) -> None:
    messages.error(
        request,
        _(
            "We couldn't send a text message to %(number)s just now. Check the number, "
            "or ask for a new code in a few minutes."
        )
        % {"number": phone.display},
    )


@login_required
@require_POST
@sensitive
def add_phone(request: HttpRequest) -> HttpResponse:
    form = PhoneNumberForm(request.POST)
    if form.is_valid():
        try:
            phone, delivered = services.add_phone_number(
                user=request.user,  # type: ignore[arg-type]
                request=request,
                number=form.cleaned_data["number"],
            )
        except ValidationError as exc:
            form.add_error("number", exc)
        else:
            if delivered:
                messages.success(request, _("We sent a code to %(number)s.") % {"number": phone.display})
            else:
                _not_delivered(request, phone)
            return redirect("verify_phone", public_id=phone.public_id)
    messages.error(request, _("The phone number wasn't added. See the message under Phone numbers."))
    return _your_info_page(request, status=400, phone_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def verify_phone(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    phone = _own_phone(request, public_id)
    if phone.verified:
        messages.info(request, _("%(number)s is already verified.") % {"number": phone.display})
        return redirect("your_info")
    form = PhoneCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_phone_number(
                user=request.user,  # type: ignore[arg-type]
                request=request,
                phone=phone,
                code=form.cleaned_data["code"],
            )
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            messages.success(request, _("%(number)s is verified.") % {"number": phone.display})
            return redirect("your_info")
    return render(
        request,
        "accounts/verify_phone.html",
        {"phone": phone, "form": form, "minutes": settings.PHONE_CODE_TTL // 60},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def resend_phone_code(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    phone = _own_phone(request, public_id)
    try:
        delivered = services.send_phone_code(user=request.user, request=request, phone=phone)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if delivered:
            messages.success(request, _("We sent a new code to %(number)s.") % {"number": phone.display})
        else:
            _not_delivered(request, phone)
    if phone.verified:
        return redirect("your_info")
    return redirect("verify_phone", public_id=phone.public_id)


@login_required
@require_POST
@sensitive
def make_phone_primary(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    phone = _own_phone(request, public_id)
    try:
        services.make_phone_primary(user=request.user, request=request, phone=phone)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(number)s is now your primary phone number.") % {"number": phone.display}
        )
    return redirect("your_info")


@login_required
@require_POST
@sensitive
def remove_phone(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    phone = _own_phone(request, public_id)
    try:
        successor = services.remove_phone_number(user=request.user, request=request, phone=phone)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("your_info")
    messages.success(request, _("%(number)s was removed.") % {"number": phone.display})
    if successor is not None:
        messages.info(
            request, _("%(number)s is now your primary phone number.") % {"number": successor.display}
        )
    return redirect("your_info")


# --- Sessions -------------------------------------------------------------------------------


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    include_current = request.POST.get("include_current") == "on"
    ended = services.sign_out_everywhere(
        user=request.user,  # type: ignore[arg-type]
        request=request,
        include_current=include_current,
    )
    if include_current:
        return redirect("account_login")
    messages.success(
        request,
        ngettext(
            "Signed out of %(count)d other session. This browser stays signed in.",
            "Signed out of %(count)d other sessions. This browser stays signed in.",
            ended,
        )
        % {"count": ended},
    )
    return redirect("devices")


@method_decorator(login_not_required, name="dispatch")
class SignupView(AllauthSignupView):
    """allauth's sign-up page, whose saving is one transaction.

    The account, its address, its event and its queued code are written together or not at
    all (allauth wrote each on its own). SECURITY: a sign-up with an address that already has
    an account does the same work in a savepoint it rolls back
    (``accounts.allauth_forms.SignupForm``); one transaction around either keeps the commits,
    and so the time they take, the same.
    """

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response: HttpResponse = super().form_valid(form)
        return response


@method_decorator(login_not_required, name="dispatch")
class ConfirmEmailCodeView(ConfirmEmailVerificationCodeView):
    """allauth's "Enter the code we sent" page, whose "Send a new code" does the same work for a
    sign-up with an address that already has an account as for a new one.

    SECURITY: allauth answers a sign-up with an existing address as if it were new (a code
    "sent", this page) and mails the owner "you already have an account". On "Send a new code"
    it then queued a new code for a real pending sign-up, after reading its account and
    address, but did nothing for the existing address: one task and five queries fewer, a
    difference anyone could time. Here the existing address gets the same reads and the same
    one message queued: "you already have an account" again (at most as often as allauth lets
    a code be resent, three times, one per 10 seconds).
    """

    def form_valid(self, form: Any) -> HttpResponse:
        process = self._process
        resend_for_existing = self._action == "resend" and "user_id" not in process.state
        if resend_for_existing:
            selectors.read_as_for_a_pending_sign_up(process.email)
        response: HttpResponse = super().form_valid(form)
        if resend_for_existing and getattr(process, "did_send", False):
            get_adapter(self.request).send_account_already_exists_mail(process.email)
        return response
