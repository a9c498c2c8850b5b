"""Staff admin (``/staff/``): Temporary Access Passes (metadata only, with "revoke") and the
operators' queue of account recovery requests.

Recovery rows are read-only: the only change an operator makes is a decision, through
``decide_recovery_request``, from the buttons on a request's page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from threshold.recovery.forms.recovery_requests import DecisionForm
from threshold.recovery.models import AccountRecovery, RecoveryKind, RecoveryStatus, TemporaryAccessPass
from threshold.recovery.selectors.account_recovery import AccountFacts, account_facts
from threshold.recovery.services.access_pass import staff_revoke_access_pass
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.recovery.services.recovery_requests import decide_recovery_request


@admin.register(TemporaryAccessPass)
class TemporaryAccessPassAdmin(admin.ModelAdmin[TemporaryAccessPass]):
    """SECURITY: the pass's hash is never shown; passes are issued only by the service
    (``threshold issue_access_pass``, later the organisation admin console), never typed here."""

    list_display = (
        "user",
        "status",
        "one_time",
        "created_at",
        "expires_at",
        "use_count",
        "used_at",
        "revoked_at",
        "issued_by",
    )
    list_filter = ("one_time",)
    search_fields = ("user__email", "public_id")
    ordering = ("-created_at",)
    list_select_related = ("user", "issued_by")
    fields = (
        "public_id",
        "user",
        "issued_by",
        "created_at",
        "expires_at",
        "one_time",
        "use_count",
        "used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("Status"))
    def status(self, obj: TemporaryAccessPass) -> str:
        return obj.status

    @admin.action(description=gettext_lazy("Revoke the selected passes"), permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[TemporaryAccessPass]) -> None:
        revoked = sum(
            staff_revoke_access_pass(access_pass=access_pass, operator=request.user, request=request)
            for access_pass in queryset.select_related("user")
        )
        self.message_user(
            request,
            ngettext("%(count)d pass was revoked.", "%(count)d passes were revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


SHOWN_FIELDS = (
    "public_id",
    "kind",
    "status",
    "account_email",
    "user",
    "contact_email",
    "proven_email",
    "proven_phone",
    "requested_at",
    "request_ip",
    "request_country",
    "ready_at",
    "expires_at",
    "completed_at",
    "cancelled_at",
    "cancelled_by",
    "decision",
    "decided_by",
    "decided_at",
    "note",
)


@admin.register(AccountRecovery)
class AccountRecoveryAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "kind",
        "status",
        "account_email",
        "account_found",
        "contact_email",
        "decision",
    )
    list_filter = ("status", "kind")
    ordering = ("requested_at", "id")  # oldest first: the queue is served in order
    search_fields = ("account_email", "contact_email")
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
    list_select_related = ("user",)
    change_form_template = "admin/recovery/accountrecovery/change_form.html"

    @admin.display(description=gettext_lazy("account found"), boolean=True)
    def account_found(self, obj: AccountRecovery) -> bool:
        return obj.user_id is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("<path:object_id>/decide/", decide, name="recovery_accountrecovery_decide"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            # Rows are read-only: the one change an operator makes is a decision (decide_view).
            return HttpResponseNotAllowed(["GET"])
        recovery = self.get_object(request, object_id)
        context = dict(extra_context or {}, show_save=False, show_save_and_continue=False)
        if recovery is not None:
            facts = account_facts(recovery)
            context.update(
                facts=facts,
                comparison=_comparison(recovery, facts),
                decidable=recovery.kind == RecoveryKind.REVIEWED
                and recovery.status == RecoveryStatus.WAITING
                and self.has_change_permission(request, recovery),
                decision_form=DecisionForm(),
                decide_url=reverse("admin:recovery_accountrecovery_decide", args=[recovery.pk]),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return _decide(self, request, object_id)


def _decide(model_admin: AccountRecoveryAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    recovery = model_admin.get_object(request, object_id)
    if recovery is None:
        raise Http404
    if not model_admin.has_change_permission(request, recovery):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    back = HttpResponseRedirect(reverse("admin:recovery_accountrecovery_change", args=[recovery.pk]))
    if not form.is_valid() or request.POST.get("decision") not in ("approve", "deny"):
        messages.error(request, _("Choose Approve or Deny; the note can be at most 2,000 characters."))
        return back
    approve = request.POST["decision"] == "approve"
    try:
        decide_recovery_request(
            recovery=recovery,
            staff_user=request.user,
            approve=approve,
            note=form.cleaned_data["note"],
            request=request,
        )
    except RecoveryRefused as exc:
        messages.error(request, exc.message)
        return back
    messages.success(
        request,
        _("Approved: the account's addresses were told and the person was sent a link.")
        if approve
        else _("Denied: the person was sent an email saying what they can do."),
    )
    return back


def _comparison(recovery: AccountRecovery, facts: AccountFacts) -> list[tuple[str, str, str]]:
    """(what, the person says, the account says) rows for the operator to compare."""
    claims = recovery.claims if isinstance(recovery.claims, dict) else {}
    if not facts.exists:
        account = _("No such account")
        return [(_("Account"), recovery.account_email, account)] + [
            (label, str(claims.get(key, "")), "—") for key, label in _claim_labels()
        ]
    names = " / ".join(
        n for n in (facts.display_name, f"{facts.given_name} {facts.family_name}".strip()) if n
    )
    created = facts.created_at.strftime("%B %Y") if facts.created_at else ""
    return [
        (_("Account"), recovery.account_email, f"{facts.email} ({facts.kind})"),
        (_("Names"), str(claims.get("names", "")), names or _("(none given)")),
        (_("Created"), str(claims.get("created", "")), created),
        (
            _("Sign-in places"),
            str(claims.get("places", "")),
            ", ".join(facts.sign_in_countries) or _("(no sign-ins in 90 days)"),
        ),
        (
            _("Subscriptions"),
            str(claims.get("subscriptions", "")),
            _("Has subscriptions")
            if facts.has_subscriptions
            else _("None (Threshold has no subscriptions yet)"),
        ),
        (
            _("Anything else"),
            str(claims.get("other", "")),
            _("Addresses on the account: %(addresses)s") % {"addresses": ", ".join(facts.email_addresses)},
        ),
    ]


def _claim_labels() -> list[tuple[str, str]]:
    return [
        ("names", _("Names")),
        ("created", _("Created")),
        ("places", _("Sign-in places")),
        ("subscriptions", _("Subscriptions")),
        ("other", _("Anything else")),
    ]
