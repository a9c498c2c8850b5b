"""Organisations, their members and the policies their admins set.

``Organization`` moved here from ``accounts`` and kept its table (``accounts_organization``):
the move is recorded in the migration state only, so an existing database keeps every row and
every foreign key pointing at it untouched, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ACCENT_COLOUR = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hexadecimal digits, such as #0f6cbd.")
)


class LicenceTier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    HELPDESK_ADMIN = "helpdesk_admin", _("Helpdesk admin")
    GLOBAL_ADMIN = "global_admin", _("Global admin")


ADMIN_ROLES = frozenset({Role.HELPDESK_ADMIN, Role.GLOBAL_ADMIN})


class Organization(models.Model):
    """A company or school whose people have work or school accounts here."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    verified_domains = models.JSONField(_("verified domains"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the operator in the staff admin; an organisation's admins cannot change it.
    licence = models.CharField(
        _("licence"), max_length=16, choices=LicenceTier.choices, default=LicenceTier.STANDARD
    )
    # Branding (shown on the sign-in page with Premium; Standard shows the name only).
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    accent_colour = models.CharField(_("accent colour"), max_length=7, blank=True, validators=[ACCENT_COLOUR])
    sign_in_text = models.CharField(
        _("sign-in text"),
        max_length=140,
        blank=True,
        help_text=_("One line shown on the sign-in page, for example “Use your Contoso email address.”"),
    )
    contact = models.CharField(
        _("how to reach the admins"),
        max_length=254,
        blank=True,
        help_text=_(
            "An email address or an https:// address shown next to every setting the organization manages."
        ),
    )
    guests_may_leave = models.BooleanField(_("guests may leave"), default=True)

    class Meta:
        db_table = "accounts_organization"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's place in an organisation: the home one (it owns the work account) or as a guest."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    home = models.BooleanField(_("home organization"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by an admin's "Require new sign-in methods" (admin console): until the person has
    # set up a method since then and two-step verification is on, every page leads to the
    # set-up page (policies.pending_enrolment).
    methods_reset_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_once_per_org"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(home=True), name="one_home_organization"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role")]
        ordering = ["-home", "organization__name"]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class TextMessages(models.TextChoices):
    EVERYONE = "everyone", _("Everyone may use text messages")
    NOT_ADMINS = "not_admins", _("Members only, not admins")
    NOBODY = "nobody", _("Nobody")


class UnfamiliarSignIn(models.TextChoices):
    ALLOW = "allow", _("Allow, and alert the person")
    SECOND_STEP = "second_step", _("Ask for a second step")
    BLOCK = "block", _("Block the sign-in")


def _bounded(low: int, high: int) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(low), MaxValueValidator(high)]


class OrganizationPolicy(models.Model):
    """What an organisation's admins decided for its members' accounts.

    Every bound is enforced both here (validators, so the staff admin refuses) and in
    ``orgs.services.update_policy`` (through ``full_clean``). There is deliberately no
    password expiry: periodic changes make passwords weaker (NIST SP 800-63B).
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="policy"
    )
    # Two-step verification
    require_two_step = models.BooleanField(_("require two-step verification"), default=False)
    two_step_grace_days = models.PositiveSmallIntegerField(
        _("days to set up two-step verification"), default=14, validators=_bounded(0, 90)
    )
    two_step_required_since = models.DateTimeField(null=True, blank=True, editable=False)
    text_messages = models.CharField(
        _("text messages as a sign-in method"),
        max_length=16,
        choices=TextMessages.choices,
        default=TextMessages.EVERYONE,
    )
    require_passkey_for_admins = models.BooleanField(_("admins must have a passkey"), default=False)
    # Self-service password reset
    self_service_password_reset = models.BooleanField(_("self-service password reset"), default=True)
    reset_methods_required = models.PositiveSmallIntegerField(
        _("methods needed to reset a password"), default=1, validators=_bounded(1, 2)
    )
    # Passwords
    password_min_length = models.PositiveSmallIntegerField(
        _("minimum password length"), default=8, validators=_bounded(8, 64)
    )
    password_banned_words = models.JSONField(_("banned words in passwords"), default=list, blank=True)
    # Profile fields that come from the organisation's directory
    lock_names = models.BooleanField(_("names are managed"), default=False)
    lock_photo = models.BooleanField(_("photo is managed"), default=False)
    lock_phones = models.BooleanField(_("phone numbers are managed"), default=False)
    lock_emails = models.BooleanField(_("email addresses are managed"), default=False)
    profile_lock_reason = models.CharField(
        _("why profile fields are managed"),
        max_length=200,
        blank=True,
        help_text=_("For example “They come from Contoso's HR directory.”"),
    )
    # Sessions
    session_lifetime_hours = models.PositiveIntegerField(
        _("session lifetime (hours)"), null=True, blank=True, validators=_bounded(1, 2160)
    )
    sign_in_frequency_hours = models.PositiveIntegerField(
        _("sign in again every (hours)"), null=True, blank=True, validators=_bounded(1, 2160)
    )
    # Members' own choices
    members_may_close_account = models.BooleanField(_("members may close their account"), default=True)
    members_may_remove_devices = models.BooleanField(_("members may remove devices"), default=True)
    # Premium
    unfamiliar_sign_in = models.CharField(
        _("unfamiliar sign-ins"),
        max_length=16,
        choices=UnfamiliarSignIn.choices,
        default=UnfamiliarSignIn.ALLOW,
    )
    activity_retention_days = models.PositiveIntegerField(
        _("keep sign-in activity for (days)"), null=True, blank=True, validators=_bounded(30, 730)
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "organization policies"

    def __str__(self) -> str:
        return f"Policy of {self.organization_id}"


class Invitation(models.Model):
    """The one-time link that lets an invited person choose the first password of their work account.

    Only a SHA-256 of the link's token is stored; the token itself goes out once, by email.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation of {self.user_id} to {self.organization_id}"
