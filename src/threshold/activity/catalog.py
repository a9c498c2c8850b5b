"""The one catalogue of security events: each type declared once, with its words and handling."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Severity(StrEnum):
    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"
    CRITICAL = "critical"


class Retention(StrEnum):
    SIGN_IN = "sign_in"  # kept for the activity retention period (default 90 days)
    CHANGE = "change"  # security changes, kept longer (default 2 years)


class Category(StrEnum):
    SIGN_IN = "sign_in"
    CHANGE = "change"


@dataclass(frozen=True)
class EventType:
    """One kind of security event.

    ``notify_user`` mails a security alert to the account's verified addresses once the
    change is committed; ``alert`` is the sentence that alert opens with, formatted with
    the event's details (``%(email)s``, ``%(number)s``, ``%(from)s``, ``%(to)s``).
    """

    code: str
    label: Promise
    category: Category
    severity: Severity = Severity.INFO
    notify_user: bool = False
    org_visible: bool = True
    retention: Retention = Retention.CHANGE
    alert: Promise | None = None


_TYPES = [
    # Sign-ins
    EventType("account:signin:success", _("Signed in"), Category.SIGN_IN, retention=Retention.SIGN_IN),
    EventType(
        "account:signin:failure",
        _("Sign-in failed: wrong password"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:signin:throttled",
        _("Sign-in blocked: too many attempts"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
    ),
    EventType("account:signout", _("Signed out"), Category.SIGN_IN, retention=Retention.SIGN_IN),
    EventType(
        "account:signout:everywhere",
        _("Signed out everywhere"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    # The account itself
    EventType("account:create", _("Account created"), Category.CHANGE),
    EventType("account:email:verify", _("Email address verified"), Category.CHANGE),
    EventType(
        "account:email:add",
        _("Email address added"),
        Category.CHANGE,
        notify_user=True,
        alert=_("The email address %(email)s was added to your account."),
    ),
    EventType(
        "account:email:remove",
        _("Email address removed"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("The email address %(email)s was removed from your account."),
    ),
    EventType(
        "account:email:primary",
        _("Primary email address changed"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("Your primary email address was changed from %(from)s to %(to)s."),
    ),
    EventType("account:phone:add", _("Phone number added"), Category.CHANGE),
    EventType(
        "account:phone:verify",
        _("Phone number verified"),
        Category.CHANGE,
        notify_user=True,
        alert=_("The phone number ending in %(number)s was verified and added to your account."),
    ),
    EventType(
        "account:phone:remove",
        _("Phone number removed"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("The phone number ending in %(number)s was removed from your account."),
    ),
    EventType("account:phone:primary", _("Primary phone number changed"), Category.CHANGE),
    EventType(
        "account:phone:throttled",
        _("Text message not sent: too many codes asked for"),
        Category.CHANGE,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:phone:locked",
        _("Phone verification stopped: too many wrong codes"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    EventType("account:profile:update", _("Profile updated"), Category.CHANGE),
    EventType("account:photo:update", _("Profile photo changed"), Category.CHANGE),
    EventType("account:photo:remove", _("Profile photo removed"), Category.CHANGE),
    EventType(
        "account:password:change",
        _("Password changed"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("The password of your account was changed."),
    ),
    EventType(
        "account:password:reset",
        _("Password reset"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("The password of your account was reset."),
    ),
    EventType("account:admin:create", _("Staff account created"), Category.CHANGE, Severity.WARNING),
]

CATALOG: dict[str, EventType] = {event.code: event for event in _TYPES}


def get(code: str) -> EventType:
    """The declared event type for ``code``; an unknown code is a programming error."""
    return CATALOG[code]
