"""The one catalogue of security events: each type declared once, with its words and handling."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from threshold.core.context import country_name


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
class AlertLine:
    """A further line of a security alert, shown when the event's details carry ``when``.

    ``text`` is formatted with the details like the alert's sentence; with no ``when``
    the line is always shown.
    """

    text: Promise
    when: str = ""


@dataclass(frozen=True)
class EventType:
    """One kind of security event.

    ``notify_user`` mails a security alert to the account's verified addresses once the
    change is committed; ``alert`` is the sentence that alert opens with, formatted with
    the event's details (``%(email)s``, ``%(number)s`` shown as its last digits, ``%(from)s``,
    ``%(to)s``, ``%(kind)s`` shown as the sign-in method's kind, ``%(name)s``), and
    ``alert_more`` are the lines that follow it.
    """

    code: str
    label: Promise
    category: Category
    severity: Severity = Severity.INFO
    notify_user: bool = False
    # An attempt to sign in (succeeded, failed or blocked): counted in the sign-in chart, and a
    # failed one counts towards "success after several failures" (activity/risk.py).
    sign_in_attempt: bool = False
    org_visible: bool = True
    retention: Retention = Retention.CHANGE
    alert: Promise | None = None
    alert_more: tuple[AlertLine, ...] = ()


_TYPES = [
    # Sign-ins
    EventType(
        "account:signin:success",
        _("Signed in"),
        Category.SIGN_IN,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType(
        "account:signin:failure",
        _("Sign-in failed: wrong password"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType(
        "account:signin:throttled",
        _("Sign-in blocked: too many attempts"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType("account:signout", _("Signed out"), Category.SIGN_IN, retention=Retention.SIGN_IN),
    EventType(
        "account:signin:password_stopped",
        _("Sign-in refused: password sign-in stopped after too many failures"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType(
        "account:password:stopped",
        _("Password sign-in stopped after too many failures"),
        Category.CHANGE,
        Severity.CRITICAL,
        notify_user=True,
        alert=_(
            "Someone entered a wrong password for your account %(failures)s times in a row. To keep "
            "your account safe, your password alone no longer signs you in."
        ),
        alert_more=(
            AlertLine(
                _(
                    "You can still sign in with a passkey. To use your password again, reset it with "
                    "the link below; choose a new one if you think someone might know it."
                )
            ),
        ),
    ),
    EventType(
        "account:signout:everywhere",
        _("Signed out everywhere"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    # The person's answer about one of their sign-ins (Recent activity).
    EventType(
        "account:signin:confirmed",
        _("Sign-in confirmed as you"),
        Category.CHANGE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:signin:reported",
        _("Sign-in reported as not you"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    # The account itself
    EventType("account:create", _("Account created"), Category.CHANGE),
    # Recorded on the discarded account just before its row goes (the event keeps its label):
    # details say whether a new sign-up for the address replaced it or it expired unverified.
    EventType(
        "account:signup:discard",
        _("Unverified sign-up removed"),
        Category.CHANGE,
        Severity.NOTICE,
        org_visible=False,
    ),
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
        alert_more=(AlertLine(_("It no longer receives sign-in codes."), when="sign_in_method"),),
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
        alert=_("Your password was changed, and every other session was signed out."),
        alert_more=(
            AlertLine(
                _("Devices that skipped two-step verification will be asked again."),
                when="trusted_devices_forgotten",
            ),
        ),
    ),
    EventType(
        "account:password:reset",
        _("Password reset"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("The password of your account was reset, and every session was signed out."),
        alert_more=(
            AlertLine(
                _("Devices that skipped two-step verification will be asked again."),
                when="trusted_devices_forgotten",
            ),
        ),
    ),
    EventType("account:admin:create", _("Staff account created"), Category.CHANGE, Severity.WARNING),
    # Sign-in methods and two-step verification (threshold.security)
    EventType(
        "account:method:add",
        _("Sign-in method added"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("%(kind)s “%(name)s” was added to the ways you sign in."),
    ),
    EventType(
        "account:method:remove",
        _("Sign-in method removed"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("%(kind)s “%(name)s” was removed from the ways you sign in."),
    ),
    EventType("account:method:default", _("Default sign-in method changed"), Category.CHANGE),
    # Not alerted: a new name adds or removes no way into the account; the alerted changes are.
    EventType("account:method:rename", _("Sign-in method renamed"), Category.CHANGE),
    EventType(
        "account:password:remove",
        _("Password removed"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_(
            "The password of your account was removed: you now sign in with a passkey, and every other session was signed out."
        ),
        alert_more=(
            AlertLine(
                _("Devices that skipped two-step verification will be asked again."),
                when="trusted_devices_forgotten",
            ),
        ),
    ),
    EventType(
        "account:passkey:counter_backwards",
        _("Passkey refused: its signature counter went backwards, so it may have been copied"),
        Category.SIGN_IN,
        Severity.CRITICAL,
    ),
    EventType(
        "account:2sv:enable",
        _("Two-step verification turned on"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_(
            "Two-step verification was turned on: signing in now needs your password and one of your sign-in methods."
        ),
        alert_more=(
            AlertLine(
                _("A set of recovery codes was also made; keep them somewhere safe."),
                when="recovery_codes_made",
            ),
        ),
    ),
    EventType(
        "account:2sv:disable",
        _("Two-step verification turned off"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("Two-step verification was turned off: your password alone now lets someone sign in."),
    ),
    EventType(
        "account:recovery_codes:generate",
        _("Recovery codes made"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("A new set of recovery codes was made. The codes you had before no longer work."),
    ),
    EventType(
        "account:recovery_codes:use",
        _("Recovery code used"),
        Category.SIGN_IN,
        Severity.WARNING,
        notify_user=True,
        alert=_("A recovery code was used to sign in to your account."),
        alert_more=(
            AlertLine(
                ngettext_lazy(
                    "You have %(left)d recovery code left.",
                    "You have %(left)d recovery codes left.",
                    "left",
                )
            ),
            AlertLine(_("If you are running low, make a new set on your Security info page.")),
        ),
    ),
    EventType(
        "account:signin:second_step",
        _("Second step of sign-in completed"),
        Category.SIGN_IN,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:signin:second_step:failure",
        _("Sign-in failed: wrong code at the second step"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType(
        "account:signin:second_step:throttled",
        _("Sign-in blocked: too many wrong codes"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    EventType(
        "account:signin:code_sent",
        _("Sign-in code sent by text message"),
        Category.SIGN_IN,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:reauth:failure",
        _("Re-sign-in failed: wrong code"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType("account:device:trust", _("Device trusted for two-step verification"), Category.CHANGE),
    EventType(
        "account:device:trust_revoke",
        _("Trusted devices will be asked again"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    # Replacing every sign-in method: the removal of the last older method waits
    # (threshold.security), so someone who took over a session cannot swap them all at once.
    # The older addresses hear of the scheduled removal by a message of its own, with the
    # link to cancel, rather than by the general alert.
    EventType(
        "account:method:removal_scheduled",
        _("Sign-in method set to be removed after a wait"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    EventType(
        "account:method:removal_confirmed",
        _("Waiting removal confirmed with an older sign-in method"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_(
            "%(kind)s “%(name)s” was removed from the ways you sign in: "
            "the change was confirmed with one of your older sign-in methods."
        ),
    ),
    EventType(
        "account:method:removal_applied",
        _("Sign-in method removed after the wait"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_(
            "%(kind)s “%(name)s” was removed from the ways you sign in, at the end of the %(wait_days)d-day wait."
        ),
    ),
    EventType(
        "account:method:removal_cancelled",
        _("Waiting removal of a sign-in method cancelled"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("The removal of %(kind)s “%(name)s” was cancelled: it stays one of the ways you sign in."),
        alert_more=(
            AlertLine(
                _("Every session of your account was signed out, and trusted devices will be asked again."),
                when="signed_out",
            ),
        ),
    ),
    # Devices and the account lock (threshold.devices)
    EventType("account:device:rename", _("Device renamed"), Category.CHANGE),
    EventType(
        "account:device:remove",
        _("Device removed"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("The device “%(device_name)s” was removed from your account and signed out."),
        alert_more=(AlertLine(_("It will be asked for two-step verification again."), when="trust_ended"),),
    ),
    EventType(
        "account:lock",
        _("Account locked"),
        Category.CHANGE,
        Severity.CRITICAL,
        notify_user=True,
        alert=_("Your account was locked: every session was signed out and no one can sign in to it."),
        alert_more=(AlertLine(_("To unlock it, reset your password by email with the link below.")),),
    ),
    EventType(
        "account:unlock",
        _("Account unlocked"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_(
            "Your account was unlocked by a password reset or an account recovery. You can sign in again."
        ),
    ),
    EventType(
        "account:signin:locked",
        _("Sign-in refused: account locked"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    # Closing the account and exporting its data (threshold.recovery)
    EventType(
        "account:close:request",
        _("Account set to close"),
        Category.CHANGE,
        Severity.CRITICAL,
        notify_user=True,
        alert=ngettext_lazy(
            "Your account was set to close in %(days)d day, and every session was signed out.",
            "Your account was set to close in %(days)d days, and every session was signed out.",
            "days",
        ),
        alert_more=(
            AlertLine(
                _(
                    "Until then you can keep it: sign in and choose to reopen it. "
                    "After that its personal data is deleted and it cannot be brought back."
                )
            ),
        ),
    ),
    EventType(
        "account:reopen",
        _("Account reopened"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("Your account was reopened: it will not be closed, and you can use it as before."),
    ),
    EventType(
        "account:close:complete",
        _("Account closed and its personal data deleted"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    EventType("account:export:request", _("Copy of your data asked for"), Category.CHANGE, Severity.NOTICE),
    EventType(
        "account:export:ready",
        _("Copy of your data ready"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("A copy of your account's data is ready to download from the Privacy page."),
        alert_more=(AlertLine(_("The download works for 24 hours, after you sign in again.")),),
    ),
    EventType("account:export:download", _("Copy of your data downloaded"), Category.CHANGE, Severity.NOTICE),
    # Resetting a forgotten password (threshold.recovery); the reset itself is
    # account:password:reset, above. Recorded only for an account that exists.
    EventType(
        "account:password:reset:code_sent",
        _("Password reset code sent"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:password:reset:code_failure",
        _("Password reset failed: the code or link didn't work"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:password:reset:throttled",
        _("Password reset blocked: too many attempts"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:password:reset:second_step",
        _("Second step of a password reset completed"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
    ),
    EventType(
        "account:password:reset:second_step:failure",
        _("Password reset failed: wrong second step"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
    ),
    # Temporary Access Pass and the set-up after a recovery sign-in (threshold.recovery)
    EventType(
        "account:access_pass:issue",
        _("Temporary Access Pass issued"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("A Temporary Access Pass was issued for your account."),
        alert_more=(
            AlertLine(
                ngettext_lazy(
                    "For the next %(minutes)d minute it lets whoever holds it sign in and set up new sign-in methods.",
                    "For the next %(minutes)d minutes it lets whoever holds it sign in and set up new sign-in methods.",
                    "minutes",
                )
            ),
            AlertLine(_("It works only once."), when="one_time"),
            AlertLine(
                _("Any pass issued for your account before it no longer works."), when="revoked_earlier"
            ),
        ),
    ),
    EventType(
        "account:access_pass:revoke",
        _("Temporary Access Pass revoked"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    EventType(
        "account:access_pass:refused",
        _("Sign-in failed: Temporary Access Pass not accepted"),
        Category.SIGN_IN,
        Severity.NOTICE,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
    ),
    # Account recovery without sign-in methods (threshold.recovery): by email address and
    # phone number after a waiting period, or by a request our support team reviews. The
    # start and the approval send their own notice (with a link to cancel) by mail and text
    # message, so they do not use the general alert.
    EventType(
        "account:recovery:start",
        _("Account recovery started"),
        Category.CHANGE,
        Severity.CRITICAL,
    ),
    EventType(
        "account:recovery:ready", _("Account recovery ready to complete"), Category.CHANGE, Severity.WARNING
    ),
    EventType(
        "account:recovery:cancel",
        _("Account recovery cancelled"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("An account recovery was cancelled: it can no longer be used to get into your account."),
        alert_more=(
            AlertLine(_("It was cancelled because you signed in to your account."), when="by_sign_in"),
        ),
    ),
    EventType(
        "account:recovery:complete",
        _("Account recovered"),
        Category.CHANGE,
        Severity.CRITICAL,
        notify_user=True,
        alert=_(
            "Your account was recovered: a new password was set, every other session was signed out "
            "and trusted devices will be asked for two-step verification again."
        ),
    ),
    EventType("account:recovery:expire", _("Account recovery expired"), Category.CHANGE),
    EventType(
        "account:recovery:request",
        _("Account recovery asked of our support team"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    EventType(
        "account:recovery:approve",
        _("Account recovery approved by our support team"),
        Category.CHANGE,
        Severity.CRITICAL,
    ),
    EventType(
        "account:recovery:deny",
        _("Account recovery refused by our support team"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    EventType(
        "account:policy:deny",
        _("Change blocked by your organization's policy"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    # Organisations (threshold.orgs): membership, policies, branding, risk-based sign-in.
    EventType(
        "org:policy:change",
        _("Organization policy changed"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    EventType("org:branding:update", _("Organization branding changed"), Category.CHANGE),
    EventType(
        "org:member:add",
        _("Added to an organization"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("Your account was added to %(organization)s as %(role)s."),
    ),
    EventType(
        "org:member:role",
        _("Role in an organization changed"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("Your role in %(organization)s changed from %(from)s to %(to)s."),
    ),
    EventType(
        "org:member:remove",
        _("Removed from an organization"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("Your account was removed from %(organization)s."),
    ),
    EventType("org:member:leave", _("Left an organization"), Category.CHANGE, Severity.NOTICE),
    EventType(
        "org:invitation:accept",
        _("Work account set up from an invitation"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("The first password of your %(organization)s work account was chosen."),
    ),
    EventType(
        "org:enrolment:skip",
        _("Skipped setting up a sign-in method your organization asks for"),
        Category.CHANGE,
        Severity.NOTICE,
    ),
    EventType(
        "org:signin:blocked",
        _("Sign-in blocked: unfamiliar sign-in"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
        notify_user=True,
        alert=_("We blocked a sign-in to your account that didn't look like you, as your organization asks."),
    ),
    EventType(
        "org:signin:held",
        _("Sign-in held: unfamiliar, with no second method to ask for"),
        Category.SIGN_IN,
        Severity.WARNING,
        retention=Retention.SIGN_IN,
        sign_in_attempt=True,
        notify_user=True,
        alert=_(
            "We held a sign-in to your work account that didn't look like you: %(organization)s asks for a "
            "second sign-in method then, and your account has none yet."
        ),
        alert_more=(
            AlertLine(
                _("If it was you, ask your admins for a Temporary Access Pass to sign in and set one up.")
            ),
            AlertLine(_("If it wasn't you, someone knows your password: reset it with the link below.")),
        ),
    ),
    # Admin console (threshold.orgs.console): what an organisation's admin did to a member's
    # account, in the member's own words on Recent activity; the admin is the event's actor.
    EventType(
        "org:admin:password_reset",
        _("Your admin reset your password"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("%(admin)s, an admin of %(organization)s, reset the password of your work account."),
        alert_more=(
            AlertLine(
                _(
                    "Every session was signed out. Sign in with the temporary password your admin gives you, "
                    "then choose your own password."
                )
            ),
        ),
    ),
    EventType(
        "org:admin:methods_reset",
        _("Your admin asked you to set up your sign-in methods again"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_(
            "%(admin)s, an admin of %(organization)s, removed your sign-in methods and recovery codes "
            "and signed you out everywhere."
        ),
        alert_more=(AlertLine(_("The next time you sign in, you'll set up two-step verification again.")),),
    ),
    EventType(
        "org:admin:sessions_revoke",
        _("Your admin signed you out everywhere"),
        Category.CHANGE,
        Severity.NOTICE,
        notify_user=True,
        alert=_("%(admin)s, an admin of %(organization)s, signed your work account out everywhere."),
    ),
    # The pass's own alert (account:access_pass:issue) goes out too; this one names the admin.
    EventType(
        "org:admin:access_pass_issue",
        _("Your admin issued a Temporary Access Pass"),
        Category.CHANGE,
        Severity.WARNING,
    ),
    EventType(
        "org:admin:block",
        _("Your admin blocked sign-in"),
        Category.CHANGE,
        Severity.CRITICAL,
        notify_user=True,
        alert=_(
            "%(admin)s, an admin of %(organization)s, blocked sign-in to your work account "
            "and signed it out everywhere."
        ),
    ),
    EventType(
        "org:admin:unblock",
        _("Your admin unblocked sign-in"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("%(admin)s, an admin of %(organization)s, unblocked sign-in to your work account."),
    ),
    EventType(
        "org:admin:member_remove",
        _("You were removed from the organization by an admin"),
        Category.CHANGE,
        Severity.WARNING,
        notify_user=True,
        alert=_("%(admin)s, an admin of %(organization)s, removed you from %(organization)s."),
        alert_more=(
            AlertLine(
                _("Your work account was turned off and will be closed on %(closes_on)s."), when="closes_on"
            ),
        ),
    ),
    # The staff admin (/staff/): each change an operator makes is on the operator's own Recent
    # activity, and on the account it touched, with the operator as the actor.
    EventType(
        "staff:change",
        _("Change made in the staff admin"),
        Category.CHANGE,
        Severity.WARNING,
        org_visible=False,
    ),
    EventType(
        "staff:account:change",
        _("Our support team changed your account"),
        Category.CHANGE,
        Severity.WARNING,
        org_visible=False,
    ),
]

CATALOG: dict[str, EventType] = {event.code: event for event in _TYPES}


def get(code: str) -> EventType:
    """The declared event type for ``code``; an unknown code is a programming error."""
    return CATALOG[code]


def label_for(code: str) -> str:
    """The human label of ``code``; the code itself for a type no longer declared (kept rows)."""
    event_type = CATALOG.get(code)
    return str(event_type.label) if event_type is not None else code


def codes(*, category: Category | None = None, retention: Retention | None = None) -> list[str]:
    """Every declared code of a category and/or retention class."""
    return [
        t.code
        for t in _TYPES
        if (category is None or t.category == category) and (retention is None or t.retention == retention)
    ]


def sign_in_attempt_codes() -> list[str]:
    return [t.code for t in _TYPES if t.sign_in_attempt]


# --- Words for what an event carries -----------------------------------------------------------

METHODS: dict[str, Promise] = {
    "password": _("Password"),
    "passkey": _("Passkey or security key"),
    "webauthn": _("Passkey or security key"),
    "authenticator_app": _("Authenticator app"),
    "totp": _("Authenticator app"),
    "text_message": _("Text message"),
    "recovery_code": _("Recovery code"),
    "recovery_codes": _("Recovery code"),
    "trusted_device": _("Trusted device"),
    "email_code": _("Code sent by email"),
    "access_pass": _("Temporary Access Pass"),
    "account_recovery": _("Account recovery"),
}

DEVICE_KINDS: dict[str, Promise] = {
    "desktop": _("Computer"),
    "phone": _("Phone"),
    "tablet": _("Tablet"),
    "bot": _("Automated client"),
    "unknown": _("Unknown kind of device"),
}

# Labels of the keys an event's ``details`` may hold, in the order the expanded view shows
# them. A key not listed here is kept in the row but not shown.
DETAILS: dict[str, Promise] = {
    "email": _("Email address"),
    "from": _("Before"),
    "to": _("After"),
    "fields": _("Changed"),
    "sessions_ended": _("Other sessions ended"),
    "device_name": _("Device"),
    "trust_ended": _("Trusted devices asked for two-step verification again"),
    "including_this_one": _("Including the browser it was done from"),
    "retry_after": _("Seconds to wait before the next try"),
    "via": _("Done with"),
    "days": _("Days until the account closes"),
    "sign_in_at": _("Sign-in time"),
    "sign_in_device": _("Sign-in device"),
    "sign_in_country": _("Sign-in country"),
    "sign_in_ip": _("Sign-in address"),
    "organization": _("Organization"),
    "setting": _("Setting"),
    "role": _("Role"),
    "admin": _("Admin"),
}

PROFILE_FIELDS: dict[str, Promise] = {
    "display_name": _("display name"),
    "given_name": _("first name"),
    "family_name": _("last name"),
    "locale": _("language"),
    "time_zone": _("time zone"),
}


def country_label(code: str) -> str:
    """A country's name in the active language ("" for an unknown location)."""
    return country_name(code, translation.get_language() or settings.LANGUAGE_CODE) if code else ""


def method_label(method: str) -> str:
    label = METHODS.get(method)
    return str(label) if label is not None else method


def device_kind_label(kind: str) -> str:
    return str(DEVICE_KINDS.get(kind, DEVICE_KINDS["unknown"]))


def detail_rows(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's details as (label, value) pairs in words, for the expanded view."""
    rows = []
    for key, label in DETAILS.items():
        if key not in details or details[key] in (None, "", []):
            continue
        rows.append((str(label), _detail_value(key, details[key])))
    return rows


def _detail_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if key == "fields" and isinstance(value, list):
        return ", ".join(str(PROFILE_FIELDS.get(str(v), v)) for v in value)
    if key == "sign_in_country":
        return country_label(str(value))
    if key == "sign_in_at":
        parsed = parse_datetime(str(value))
        if parsed is not None:
            return formats.date_format(timezone.localtime(parsed), "DATETIME_FORMAT")
    return str(value)
