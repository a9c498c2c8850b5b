"""The admin console's pages. Thin: find the organisation and the member inside it, call one
console action (member_actions.py, invitations.py, org_settings.py), answer.

Every view goes through ``console_page``: signed out → the sign-in page; not an admin of
their home organisation, or a helpdesk admin on a global admin's page → 403; a member of
another organisation → 404 (``_member``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.core.errors import FreshSignInRequired
from threshold.orgs import licences, policies
from threshold.orgs.console import invitations, member_actions, org_settings, selectors
from threshold.orgs.console.actions import ConsoleThrottled
from threshold.orgs.console.forms import (
    AccessPassForm,
    BrandingForm,
    ImportForm,
    InviteForm,
    LogFilterForm,
    MemberSearchForm,
    PolicyForm,
    RoleForm,
)
from threshold.orgs.models import Membership, Organization, OrganizationPolicy, Role
from threshold.orgs.policies import ConsoleAction
from threshold.recovery.services.access_pass import AccessPassNotIssued

View = Callable[..., HttpResponse]

NAV = [
    ("console:members", gettext_lazy("Members"), ConsoleAction.VIEW, ("/admin-console/members",)),
    ("console:sign_ins", gettext_lazy("Sign-in log"), ConsoleAction.LOGS_VIEW, ()),
    ("console:audit", gettext_lazy("Audit log"), ConsoleAction.LOGS_VIEW, ()),
    ("console:policies", gettext_lazy("Policies"), ConsoleAction.POLICY_CHANGE, ()),
    ("console:branding", gettext_lazy("Branding"), ConsoleAction.BRANDING_CHANGE, ()),
    ("console:admins", gettext_lazy("Admins"), ConsoleAction.ADMINS_MANAGE, ()),
]


def console_page(action: ConsoleAction) -> Callable[[View], View]:
    """Signed in, and allowed ``action`` by their role in their home organisation (else 403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            decision = policies.console_decision(request.user, action)
            organization = policies.console_organization(request.user)
            if not decision.allowed or organization is None:
                return render(
                    request,
                    "orgs/console/denied.html",
                    {
                        "message": decision.message
                        or _("Only an organization's admins can open the admin console.")
                    },
                    status=403,
                )
            return view(request, organization, *args, **kwargs)

        wrapper.console_action = action  # type: ignore[attr-defined] # read by the isolation tests
        return wrapper

    return decorate


def _render(
    request: HttpRequest, organization: Organization, template: str, context: dict[str, Any], **kwargs: Any
) -> HttpResponse:
    path = request.path
    nav = []
    for name, label, action, prefixes in NAV:
        if not policies.console_decision(request.user, action).allowed:
            continue
        url = reverse(name)
        current = path == url or any(path.startswith(p) for p in prefixes)
        nav.append({"url": url, "label": label, "current": current})
    return render(
        request,
        template,
        {
            "organization": organization,
            "console_nav": nav,
            "role": policies.role_of(request.user, organization),
            "is_global_admin": policies.role_of(request.user, organization) == Role.GLOBAL_ADMIN,
            **context,
        },
        **kwargs,
    )


def _member(organization: Organization, public_id: Any) -> Membership:
    membership = selectors.membership(organization, public_id)
    if membership is None:
        # SECURITY: another organisation's member, or no one: the same 404.
        raise Http404
    return membership


def _reauthenticate(request: HttpRequest, message: str, back: str) -> HttpResponse:
    messages.info(request, message or _("For your security, sign in again to continue."))
    return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": back}))


def _act(request: HttpRequest, back: str, change: Callable[[], Any]) -> tuple[Any, HttpResponse | None]:
    """Run one service call; the answer for each way it can refuse, or None when it worked."""
    try:
        return change(), None
    except FreshSignInRequired as exc:
        return None, _reauthenticate(request, exc.message, back)
    except ConsoleThrottled:
        messages.error(
            request,
            _(
                "You've done this many times in the last few minutes. Wait a quarter of an hour, then try again."
            ),
        )
        return None, redirect(back)
    except Membership.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(str(m) for m in exc.messages))
        return None, redirect(back)
    except PermissionDenied as exc:
        return None, render(request, "orgs/console/denied.html", {"message": str(exc)}, status=403)


# --- Members ----------------------------------------------------------------------------------


@console_page(ConsoleAction.VIEW)
@require_GET
def members(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = MemberSearchForm(request.GET)
    page = selectors.members_page(organization, form.member_query(), request.GET.get("page"))
    return _render(
        request,
        organization,
        "orgs/console/members.html",
        {
            "form": form,
            "page": page,
            "query": form.query(),
            "may_invite": _may(request, ConsoleAction.MEMBER_INVITE),
        },
    )


def _may(request: HttpRequest, action: ConsoleAction, member: Any = None) -> bool:
    return policies.console_decision(request.user, action, member=member).allowed


@console_page(ConsoleAction.VIEW)
@require_GET
def member(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership = _member(organization, public_id)
    user = membership.user
    may = {
        action.name.lower(): _may(request, action, user)
        for action in (
            ConsoleAction.MEMBER_RESET_PASSWORD,
            ConsoleAction.MEMBER_RESET_METHODS,
            ConsoleAction.MEMBER_REVOKE_SESSIONS,
            ConsoleAction.MEMBER_ISSUE_ACCESS_PASS,
            ConsoleAction.MEMBER_BLOCK,
            ConsoleAction.MEMBER_REMOVE,
        )
    }
    return _render(
        request,
        organization,
        "orgs/console/member.html",
        {
            "detail": selectors.member_detail(membership),
            "m": membership,
            "person": user,
            "may": may,
            "pass_form": AccessPassForm(),
        },
    )


def _member_action(
    request: HttpRequest,
    organization: Organization,
    public_id: Any,
    service: Callable[..., Any],
    **extra: Any,
) -> tuple[Membership, Any, HttpResponse | None]:
    membership = _member(organization, public_id)
    back = reverse("console:member", args=[membership.public_id])
    result, refusal = _act(
        request,
        back,
        lambda: service(
            organization=organization, actor=request.user, request=request, member=membership.user, **extra
        ),
    )
    return membership, result, refusal


def _shown_once(
    request: HttpRequest, organization: Organization, membership: Membership, **context: Any
) -> HttpResponse:
    # SECURITY: the secret is in this one answer only (not stored, not in a redirect's
    # session), which no cache may keep.
    response = _render(
        request,
        organization,
        "orgs/console/shown_once.html",
        {"m": membership, "person": membership.user, **context},
    )
    response["Cache-Control"] = "no-store"
    return response


@console_page(ConsoleAction.MEMBER_RESET_PASSWORD)
@require_POST
def reset_password(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, password, refusal = _member_action(
        request, organization, public_id, member_actions.reset_member_password
    )
    if refusal is not None:
        return refusal
    return _shown_once(request, organization, membership, kind="password", secret=password)


@console_page(ConsoleAction.MEMBER_RESET_METHODS)
@require_POST
def reset_methods(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, _removed, refusal = _member_action(
        request, organization, public_id, member_actions.require_new_methods
    )
    if refusal is not None:
        return refusal
    messages.success(
        request,
        _("%(name)s's sign-in methods were removed. They'll set up new ones at their next sign-in.")
        % {"name": membership.user.name},
    )
    return redirect("console:member", membership.public_id)


@console_page(ConsoleAction.MEMBER_REVOKE_SESSIONS)
@require_POST
def sign_out(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, _ended, refusal = _member_action(
        request, organization, public_id, member_actions.revoke_member_sessions
    )
    if refusal is not None:
        return refusal
    messages.success(request, _("%(name)s was signed out everywhere.") % {"name": membership.user.name})
    return redirect("console:member", membership.public_id)


@console_page(ConsoleAction.MEMBER_ISSUE_ACCESS_PASS)
@require_POST
def access_pass(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership = _member(organization, public_id)
    form = AccessPassForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("console:member", membership.public_id)
    try:
        _membership, issued, refusal = _member_action(
            request,
            organization,
            public_id,
            member_actions.issue_member_access_pass,
            minutes=form.cleaned_data["minutes"],
            one_time=form.cleaned_data["one_time"],
        )
    except AccessPassNotIssued as exc:
        messages.error(request, exc.message)
        return redirect("console:member", membership.public_id)
    if refusal is not None:
        return refusal
    pass_row, plain = issued
    return _shown_once(
        request, organization, membership, kind="access_pass", secret=plain, access_pass=pass_row
    )


@console_page(ConsoleAction.MEMBER_BLOCK)
@require_POST
def block(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, _done, refusal = _member_action(
        request, organization, public_id, member_actions.block_member_sign_in
    )
    if refusal is not None:
        return refusal
    messages.success(request, _("Sign-in is blocked for %(name)s.") % {"name": membership.user.name})
    return redirect("console:member", membership.public_id)


@console_page(ConsoleAction.MEMBER_BLOCK)
@require_POST
def unblock(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, _done, refusal = _member_action(
        request, organization, public_id, member_actions.unblock_member_sign_in
    )
    if refusal is not None:
        return refusal
    messages.success(request, _("%(name)s can sign in again.") % {"name": membership.user.name})
    return redirect("console:member", membership.public_id)


@console_page(ConsoleAction.MEMBER_REMOVE)
@require_POST
def remove(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership, home, refusal = _member_action(
        request, organization, public_id, member_actions.remove_member_from_organization
    )
    if refusal is not None:
        return refusal
    if home:
        message = _(
            "%(name)s was removed from %(org)s. Their work account is turned off and closes in 30 days."
        )
    else:
        message = _("%(name)s was removed from %(org)s.")
    messages.success(request, message % {"name": membership.user.name, "org": organization.name})
    return redirect("console:members")


@console_page(ConsoleAction.MEMBER_INVITE)
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        invited, refusal = _act(
            request,
            reverse("console:invite"),
            lambda: invitations.invite_from_console(
                organization=organization,
                actor=request.user,
                request=request,
                email=data["email"],
                given_name=data["given_name"],
                family_name=data["family_name"],
                role=data["role"],
            ),
        )
        if refusal is not None:
            return refusal
        messages.success(
            request, _("We emailed %(email)s a link to set their password.") % {"email": invited.email}
        )
        return redirect("console:invite")
    return _render(
        request,
        organization,
        "orgs/console/invite.html",
        {"form": form, "import_form": ImportForm(), "report": None},
    )


@console_page(ConsoleAction.MEMBER_INVITE)
@require_POST
def import_members(request: HttpRequest, organization: Organization) -> HttpResponse:
    import_form = ImportForm(request.POST, request.FILES)
    report = None
    if import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        data = upload.read(invitations.MAX_IMPORT_BYTES + 1)
        try:
            report, refusal = _act(
                request,
                reverse("console:invite"),
                lambda: invitations.import_members(
                    organization=organization, actor=request.user, request=request, data=data
                ),
            )
        except invitations.ImportRefused as exc:
            import_form.add_error("file", exc.message)
            refusal = None
        if refusal is not None:
            return refusal
    return _render(
        request,
        organization,
        "orgs/console/invite.html",
        {
            "form": InviteForm(),
            "import_form": import_form,
            "report": report,
            "accepted": sum(1 for row in report or [] if row.accepted),
            "refused": sum(1 for row in report or [] if not row.accepted),
        },
    )


# --- Logs -------------------------------------------------------------------------------------------


_LOG_TEMPLATES = {
    selectors.Log.SIGN_INS: "orgs/console/sign_ins.html",
    selectors.Log.AUDIT: "orgs/console/audit.html",
}


def _log(
    request: HttpRequest, organization: Organization, log: selectors.Log, *, status: int = 200
) -> HttpResponse:
    form = LogFilterForm(request.GET, log=log)
    cursor = request.GET.get("after", "")
    page = selectors.log_page(organization, log, form.filters(), cursor=cursor)
    export = (
        licences.feature_decision(organization, licences.Feature.SIGN_IN_REPORT_EXPORT)
        if log == selectors.Log.SIGN_INS
        else None
    )
    rows = [{"event": e, "label": selectors.audit_label(e.code)} for e in page.events]
    return _render(
        request,
        organization,
        _LOG_TEMPLATES[log],
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": form.query(),
            "first_page": not cursor,
            "export": export,
        },
        status=status,
    )


@console_page(ConsoleAction.LOGS_VIEW)
@require_GET
def sign_ins(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _log(request, organization, selectors.Log.SIGN_INS)


@console_page(ConsoleAction.LOGS_VIEW)
@require_GET
def audit(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _log(request, organization, selectors.Log.AUDIT)


def _csv(organization: Organization, log: selectors.Log, request: HttpRequest, name: str) -> HttpResponse:
    form = LogFilterForm(request.GET, log=log)
    if not form.is_valid():
        # An export of everything for filters that did not parse would be a surprise: the log's
        # page says what is wrong with them instead.
        return _log(request, organization, log, status=400)
    response = HttpResponse(
        selectors.log_csv(organization, log, form.filters()), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{organization.slug}-{name}-{stamp}.csv"'
    return response


@console_page(ConsoleAction.LOGS_EXPORT)
@require_GET
def sign_ins_export(request: HttpRequest, organization: Organization) -> HttpResponse:
    decision = licences.feature_decision(organization, licences.Feature.SIGN_IN_REPORT_EXPORT)
    if not decision.allowed:
        return _render(
            request, organization, "orgs/console/denied.html", {"message": decision.message}, status=403
        )
    return _csv(organization, selectors.Log.SIGN_INS, request, "sign-ins")


@console_page(ConsoleAction.LOGS_EXPORT)
@require_GET
def audit_export(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _csv(organization, selectors.Log.AUDIT, request, "audit")


# --- Settings (global admins) -------------------------------------------------------------------------


@console_page(ConsoleAction.POLICY_CHANGE)
@require_http_methods(["GET", "POST"])
def policies_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    policy = policies.policy_of(organization) or OrganizationPolicy(organization_id=organization.pk)
    form = PolicyForm(request.POST or None, instance=policy, organization=organization)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        changed, refusal = _act(
            request,
            reverse("console:policies"),
            lambda: org_settings.change_policy_from_console(
                organization=organization, actor=request.user, request=request, changes=changes
            ),
        )
        if refusal is not None:
            return refusal
        if changed:
            messages.success(request, _("The policy was saved. Members see the change at once."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("console:policies")
    return _render(request, organization, "orgs/console/policies.html", {"form": form})


@console_page(ConsoleAction.BRANDING_CHANGE)
@require_http_methods(["GET", "POST"])
def branding(request: HttpRequest, organization: Organization) -> HttpResponse:
    decision = licences.feature_decision(organization, licences.Feature.CUSTOM_BRANDING)
    initial = {"accent_colour": organization.accent_colour, "sign_in_text": organization.sign_in_text}
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and decision.allowed and form.is_valid():
        logo = form.cleaned_data.get("logo")
        logo_bytes = logo.read() if logo else None
        changes = form.changes()
        changed, refusal = _act(
            request,
            reverse("console:branding"),
            lambda: org_settings.change_branding_from_console(
                organization=organization,
                actor=request.user,
                request=request,
                changes=changes,
                logo=logo_bytes,
                remove_logo=form.cleaned_data.get("remove_logo", False),
            ),
        )
        if refusal is not None:
            return refusal
        messages.success(request, _("Branding saved.") if changed else _("Nothing changed."))
        return redirect("console:branding")
    return _render(request, organization, "orgs/console/branding.html", {"form": form, "licence": decision})


@console_page(ConsoleAction.ADMINS_MANAGE)
@require_GET
def admins(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _render(
        request,
        organization,
        "orgs/console/admins.html",
        {
            "admins": selectors.admins(organization),
            "candidates": selectors.home_members(organization),
            "roles": Role.choices,
        },
    )


@console_page(ConsoleAction.ADMINS_MANAGE)
@require_POST
def set_role(request: HttpRequest, organization: Organization, public_id: Any) -> HttpResponse:
    membership = _member(organization, public_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("console:admins")
    changed, refusal = _act(
        request,
        reverse("console:admins"),
        lambda: org_settings.set_admin_role(
            organization=organization,
            actor=request.user,
            request=request,
            member=membership.user,
            role=form.cleaned_data["role"],
        ),
    )
    if refusal is not None:
        return refusal
    if changed:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {"name": membership.user.name, "role": Role(form.cleaned_data["role"]).label},
        )
    return redirect("console:admins")
