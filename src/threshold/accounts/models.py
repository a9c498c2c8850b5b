from __future__ import annotations

import uuid
import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from threshold.accounts.hashers import needs_normalizing
from threshold.accounts.phones import display_phone_number

# Organisations live in threshold.orgs; the name stays importable from here for older callers.
from threshold.orgs.models import Organization

__all__ = ["AccountKind", "Organization", "PhoneNumber", "User", "VerificationCode", "VerificationPurpose"]

TIME_ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


class AccountKind(models.TextChoices):
    PERSONAL = "personal", _("Personal account")
    WORK = "work", _("Work or school account")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_queryset(self) -> models.QuerySet[User]:
        # The photo (tens of kilobytes) is read only by the photo view, not with the
        # signed-in user on every request; save() then leaves it alone too.
        return super().get_queryset().defer("photo")

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account. The email is the sign-in name; ``public_id`` is the only id shown outside."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    given_name = models.CharField(_("first name"), max_length=80, blank=True)
    family_name = models.CharField(_("last name"), max_length=80, blank=True)
    locale = models.CharField(_("language"), max_length=10, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    kind = models.CharField(
        _("account kind"), max_length=16, choices=AccountKind.choices, default=AccountKind.PERSONAL
    )
    # The home organisation, which owns a work account (orgs.Membership with home=True says
    # the person's role in it).
    organization = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("organization"),
    )
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(default=False, editable=False)
    # Wrong passwords in a row (threshold.accounts.services.note_password_failed). At
    # SIGN_IN_FAILURE_LIMIT the password alone no longer signs in, until a password reset.
    failed_sign_ins = models.PositiveIntegerField(default=0, editable=False)
    # Set by "Lock my account" (threshold.devices); sign-in is refused until recovery clears it.
    locked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by closing the account (threshold.recovery): until ``closes_at`` it can only be
    # reopened; once ``closed_at`` is set the row is the anonymous tombstone.
    closure_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    closes_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(kind="personal") | models.Q(organization__isnull=False),
                name="work_account_has_organization",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        """What to call the person: display name, else given and family name, else the email."""
        if self.display_name:
            return self.display_name
        full = f"{self.given_name} {self.family_name}".strip()
        return full or self.email

    @property
    def initials(self) -> str:
        parts = [p for p in (self.given_name, self.family_name) if p] or self.name.split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def password_sign_in_stopped(self) -> bool:
        """Too many wrong passwords in a row: the password alone no longer signs in."""
        return self.failed_sign_ins >= settings.SIGN_IN_FAILURE_LIMIT

    @property
    def is_closing(self) -> bool:
        """Marked for closure and still inside the window in which it can be reopened."""
        return self.closes_at is not None and self.closed_at is None

    @property
    def is_work_account(self) -> bool:
        return self.kind == AccountKind.WORK

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.given_name or self.name

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()
        self.must_change_password = False

    def check_password(self, raw_password: str | None) -> bool:
        """Django's check (which also upgrades a hash made with other parameters), then the
        upgrade of a hash made before passwords were normalised (``hashers.needs_normalizing``).

        The upgrade is no password change: the time of the last change stays as it was.
        """
        if not super().check_password(raw_password):
            return False
        if raw_password and needs_normalizing(raw_password, self.password):
            self.password = make_password(raw_password)
            self.save(update_fields=["password"])
        return True


class PhoneNumber(models.Model):
    """A contact phone number in E.164, usable once verified by a code sent by text message."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_numbers")
    number = models.CharField(_("phone number"), max_length=20)
    verified_at = models.DateTimeField(null=True, blank=True)
    primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "number"], name="phone_unique_per_user"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(primary=True), name="one_primary_phone"
            ),
        ]
        ordering = ["-primary", "created_at"]

    def __str__(self) -> str:
        return self.number

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def display(self) -> str:
        return display_phone_number(self.number)


class VerificationPurpose(models.TextChoices):
    PHONE = "phone", _("Verify a phone number")
    SIGN_IN = "sign_in", _("Sign in with a text-message code")
    CONFIRM_CHANGE = "confirm_change", _("Confirm a change to your sign-in methods")
    # Resetting a forgotten password (threshold.recovery): the code that proves an email
    # address or phone number of the account, and a text-message code as the second method.
    PASSWORD_RESET = "password_reset", _("Reset a forgotten password")
    RESET_SECOND_STEP = "reset_second", _("Second step of a password reset")
    # Account recovery (threshold.recovery): proving an address of the account, or the
    # contact address of a request for review (which may name no account: no user).
    RECOVERY_EMAIL = "recovery_email", _("Recover the account: an email address")
    RECOVERY_PHONE = "recovery_phone", _("Recover the account: a phone number")
    RECOVERY_CONTACT = "recovery_contact", _("Recovery request: a contact address")


class VerificationCode(models.Model):
    """A one-time code, stored hashed, with a bounded number of tries.

    One row is one verification of one target: sending a new code replaces ``code_hash``
    and ``expires_at`` but keeps ``attempts``, so asking again never buys more guesses.
    """

    # None only for a code that proves an address before any account is known (a recovery
    # request's contact address).
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="verification_codes", null=True, blank=True
    )
    purpose = models.CharField(max_length=16, choices=VerificationPurpose.choices)
    target = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=128)
    # A password reset email also carries a link: the keyed hash of its long random token.
    link_hash = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # When the current code was sent (``created_at`` is when the row's try window began).
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "purpose", "target"], name="code_lookup"),
            models.Index(fields=["link_hash"], name="code_link", condition=~models.Q(link_hash="")),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.target}"
