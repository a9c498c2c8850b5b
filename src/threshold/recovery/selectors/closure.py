"""Reads for closing the account: what closing it would end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress

from threshold.accounts.models import PhoneNumber, User
from threshold.devices.models import Device
from threshold.security.models import SignInMethod


@dataclass(frozen=True)
class ClosureSummary:
    """What closing the account will delete, counted, so the page can say it plainly."""

    name: str
    has_photo: bool
    has_password: bool
    sign_in_methods: int
    devices: int
    email_addresses: int
    phone_numbers: int
    # Neither exists yet in Threshold; listed so the page says so honestly.
    apps: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()


def closure_summary(user: Any) -> ClosureSummary:
    return ClosureSummary(
        name=user.name,
        has_photo=User.objects.filter(pk=user.pk, photo__isnull=False).exists(),
        has_password=user.has_usable_password(),
        sign_in_methods=SignInMethod.objects.filter(user=user).count(),
        devices=Device.objects.filter(user=user, removed_at__isnull=True).count(),
        email_addresses=EmailAddress.objects.filter(user=user).count(),
        phone_numbers=PhoneNumber.objects.filter(user=user).count(),
    )
