"""The only writers of devices, their trust and the account lock.

Each service asks ``orgs.policies`` first, changes inside ``transaction.atomic()`` and
records the event through ``record_event``; the catalogue's ``notify_user`` types alert
every verified address once the change commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from threshold.accounts.models import User
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.devices import cookie, trust
from threshold.devices.models import Device, DeviceTrust, TrustedDevice, TrustReason
from threshold.devices.selectors import SESSION_DEVICE, trusted_device_for
from threshold.orgs import policies
from threshold.orgs.policies import Action

SESSION_LINKED = "threshold.device_session"
SEEN_EVERY = timedelta(minutes=1)


class DeviceNotFound(Exception):
    """Not one of this account's devices (or already removed): answer 404."""


# --- Recognising the browser -------------------------------------------------------------


def note_sign_in_device(*, request: HttpRequest | None, user: Any) -> Device | None:
    """Recognise the browser that just signed in by its device cookie, or make it a device.

    Called from the sign-in path, so it stays a few indexed queries: find or create the
    row, remember it in the session, and let the middleware set the cookie on the answer.
    """
    if request is None or not hasattr(request, "session"):
        return None
    token = cookie.read_token(request) or cookie.new_token()
    digest = cookie.token_hash(token)
    ctx = context_of(request)
    now = timezone.now()
    seen = {"last_seen_at": now, "last_ip": ctx.ip or None, "last_country": ctx.country}
    device = Device.objects.filter(user=user, cookie_hash=digest, removed_at__isnull=True).first()
    if device is None:
        summary = ctx.device
        try:
            with transaction.atomic():
                device = Device.objects.create(
                    user=user,
                    cookie_hash=digest,
                    browser=summary.browser[:64],
                    os=summary.os[:64],
                    kind=summary.kind,
                    first_seen_at=now,
                    **seen,
                )
        except IntegrityError:  # the same browser signing in twice at once
            device = Device.objects.get(user=user, cookie_hash=digest, removed_at__isnull=True)
    else:
        Device.objects.filter(pk=device.pk).update(**seen)
    request.session[SESSION_DEVICE] = device.pk
    request._threshold_device_token = token  # type: ignore[attr-defined]
    _link_trust(request=request, user=user, device=device)
    return device


def _link_trust(*, request: HttpRequest, user: Any, device: Device) -> None:
    """Tie the 2-step verification trust this browser holds (or was just given) to the device."""
    trusted = []
    before = getattr(request, "_threshold_session_key_before", None)
    if before:
        # Trust given at this sign-in's challenge is stored under the session key the
        # browser had before signing in rotated it.
        trusted += list(TrustedDevice.objects.filter(user=user, session_key=before, revoked_at__isnull=True))
    held = trusted_device_for(request, user)
    if held is not None:
        trusted.append(held)
    for item in trusted:
        DeviceTrust.objects.update_or_create(trusted_device=item, defaults={"device": device})


def link_session(*, request: HttpRequest) -> None:
    """Mark this session's allauth ``UserSession`` row with its device, once per session key."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated or not session.session_key:
        return
    device_pk = session.get(SESSION_DEVICE)
    if device_pk is None or session.get(SESSION_LINKED) == session.session_key:
        return
    row = UserSession.objects.filter(session_key=session.session_key, user=user).first()
    if row is None:
        return
    row.data = {**(row.data or {}), "device": device_pk}
    row.save(update_fields=["data"])
    session[SESSION_LINKED] = session.session_key


def rotate_session_key(*, request: HttpRequest) -> None:
    """Give this signed-in session a new key, keeping its contents, its row on the sessions
    list (allauth's ``UserSession``) and its link to the device.

    SECURITY: called when the person has just proven themselves again (re-entered the
    password, a code or a second method). A session key that leaked before (a shared
    computer, a log, a fixation attempt) then no longer rides on the fresh proof.
    """
    session = request.session
    old = session.session_key
    if not old:
        return
    session.cycle_key()
    new = session.session_key
    if not new or new == old:
        return
    with transaction.atomic():
        UserSession.objects.filter(session_key=old).update(session_key=new)
    if session.get(SESSION_LINKED) == old:
        session[SESSION_LINKED] = new


class Refusal:
    LOCKED = "locked"
    REMOVED = "removed"


def check_session(*, request: HttpRequest, user: Any) -> str:
    """Why this signed-in session must end now ("" when it may go on); notes the device as seen.

    SECURITY: removing a device deletes its sessions from the shared session store, which
    every app process reads; this check is the second lock on the door, for a session
    that was not (yet) linked to its device or survived in a cache. It is one primary-key
    read per request, and a conditional write at most once a minute.
    """
    if getattr(user, "locked_at", None) is not None:
        return Refusal.LOCKED
    device_pk = request.session.get(SESSION_DEVICE)
    if device_pk is None:
        note_sign_in_device(request=request, user=user)  # a session from before devices existed
        return ""
    row = Device.objects.filter(pk=device_pk).values_list("user_id", "removed_at", "last_seen_at").first()
    if row is None or row[0] != user.pk or row[1] is not None:
        return Refusal.REMOVED
    now = timezone.now()
    if now - row[2] >= SEEN_EVERY:
        ctx = context_of(request)
        Device.objects.filter(pk=device_pk, last_seen_at__lt=now - SEEN_EVERY).update(
            last_seen_at=now, last_ip=ctx.ip or None, last_country=ctx.country
        )
    return ""


# --- Ending sessions -------------------------------------------------------------------------


def end_sessions(*, user: Any, keep: str | None = None, device: Device | None = None) -> int:
    """End the account's sessions (only those on ``device`` when given), all but the one whose
    key is ``keep``; returns how many were still signed in.

    The one way any app signs an account out. Each session is deleted from the shared store,
    so every app process sees it gone on its next request. A row whose session is already
    gone (the key a request had before a password change rotated it) is cleaned up without
    counting as a signed-out device. Callers record the event and hold the transaction.
    """
    sessions = UserSession.objects.filter(user=user)
    if device is not None:
        sessions = sessions.filter(data__device=device.pk)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    ended = 0
    for session in sessions:
        alive = session.exists()
        session.end()
        ended += int(alive)
    return ended


# --- The person's changes --------------------------------------------------------------------


def _own_device(user: Any, public_id: Any, *, for_update: bool = False) -> Device:
    devices = Device.objects.filter(user=user, removed_at__isnull=True)
    if for_update:
        devices = devices.select_for_update()
    try:
        device = devices.filter(public_id=public_id).first()
    except ValidationError:  # a malformed id is simply not one of theirs
        device = None
    if device is None:
        raise DeviceNotFound(public_id)
    return device


def rename_device(*, user: Any, request: HttpRequest | None, public_id: Any, name: str) -> Device:
    """Give a device the person's own name; an empty name goes back to "Chrome on Windows"."""
    policies.require(user, Action.DEVICE_RENAME, request=request)
    name = " ".join(name.split())[:80]
    with transaction.atomic():
        device = _own_device(user, public_id, for_update=True)
        before = device.display_name
        if name == device.name:
            return device
        device.name = name
        device.save(update_fields=["name"])
        record_event(
            "account:device:rename",
            user=user,
            request=request,
            details={"from": before, "to": device.display_name, "device": str(device.public_id)},
        )
    return device


@dataclass(frozen=True)
class Removal:
    device: Device
    sessions_ended: int
    trust_ended: int
    was_this_device: bool


def remove_device(*, user: Any, request: HttpRequest | None, public_id: Any) -> Removal:
    """Sign a device out of every session at once, end its 2-step verification trust, and forget it.

    SECURITY: no fresh sign-in is asked for: removing a device only takes access away, and
    in an emergency the person must be able to do it at once. The sessions are deleted
    from the shared store, so every app process sees them gone on the device's next request.
    """
    policies.require(user, Action.DEVICE_REMOVE, request=request)
    current = request.session.session_key if request is not None and hasattr(request, "session") else None
    this_pk = (
        request.session.get(SESSION_DEVICE) if request is not None and hasattr(request, "session") else None
    )
    with transaction.atomic():
        device = _own_device(user, public_id, for_update=True)
        device.removed_at = timezone.now()
        device.save(update_fields=["removed_at"])
        ended = end_sessions(user=user, device=device)
        trust_ended = 0
        for trusted in TrustedDevice.objects.filter(device_link__device=device, revoked_at__isnull=True):
            trust_ended += int(revoke_trusted_device(user=user, request=request, device=trusted))
        record_event(
            "account:device:remove",
            user=user,
            request=request,
            details={
                "device_name": device.display_name,
                "device": str(device.public_id),
                "sessions_ended": ended,
                "trust_ended": trust_ended,
            },
        )
    was_this = this_pk == device.pk
    if was_this and request is not None and current:
        logout(request)
    return Removal(device=device, sessions_ended=ended, trust_ended=trust_ended, was_this_device=was_this)


# --- Lock my account -------------------------------------------------------------------------


def lock_account(*, user: Any, request: HttpRequest | None) -> int:
    """Emergency brake: end every session, revoke every device trust, refuse sign-in until recovery.

    Returns how many sessions ended. SECURITY: no fresh sign-in is asked for: locking only
    takes access away, and whoever holds the account's email can undo it with a password
    reset, which is also how the owner gets back in.
    """
    policies.require(user, Action.ACCOUNT_LOCK, request=request)
    with transaction.atomic():
        locked = User.objects.filter(pk=user.pk, locked_at__isnull=True).update(locked_at=timezone.now())
        ended = end_sessions(user=user)
        revoked = forget_trusted_devices(user=user, request=request)
        if locked:
            record_event(
                "account:lock",
                user=user,
                request=request,
                details={"sessions_ended": ended, "trust_ended": revoked},
            )
    if request is not None and hasattr(request, "session"):
        logout(request)
    return ended


def unlock_account(*, user: Any, request: HttpRequest | None, via: str) -> bool:
    """Lift the lock once the person has recovered the account (a full password reset, threshold.recovery)."""
    with transaction.atomic():
        unlocked = User.objects.filter(pk=user.pk, locked_at__isnull=False).update(locked_at=None)
        if unlocked:
            user.locked_at = None
            record_event("account:unlock", user=user, request=request, details={"via": via})
    return bool(unlocked)


def note_locked_sign_in(*, user: Any, request: HttpRequest | None) -> None:
    """A sign-in with the right password (or second step) refused because the account is locked."""
    record_event(
        "account:signin:locked",
        user=user,
        request=request,
        result=Result.BLOCKED,
        method="password",
    )


# --- Trusted devices ("don't ask again on this device") ------------------------------------


def trust_this_device(*, request: HttpRequest, user: Any) -> tuple[TrustedDevice, str]:
    """Remember this browser for 30 days; returns the row and the token for its cookie."""
    policies.require(user, Action.DEVICE_TRUST, request=request)
    ctx = context_of(request)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        device = TrustedDevice.objects.create(
            user=user,
            token_hash=trust.token_hash(token),
            expires_at=timezone.now() + timedelta(days=trust.TRUST_DAYS),
            device_label=ctx.device.label if ctx.user_agent else "",
            browser=ctx.device.browser[:64],
            os=ctx.device.os[:64],
            ip=ctx.ip or None,
            country=ctx.country,
            session_key=(request.session.session_key or "") if hasattr(request, "session") else "",
        )
        record_event(
            "account:device:trust",
            user=user,
            request=request,
            details={"device": str(device.public_id), "days": trust.TRUST_DAYS},
        )
    return device, token


def revoke_trust(*, user: Any, request: HttpRequest | None, reason: TrustReason) -> int:
    revoked = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if revoked:
        record_event(
            "account:device:trust_revoke",
            user=user,
            request=request,
            details={"count": revoked, "reason": str(reason)},
        )
    return revoked


def forget_trusted_devices(*, user: Any, request: HttpRequest | None) -> int:
    """Every device asks for the second step again."""
    with transaction.atomic():
        return revoke_trust(user=user, request=request, reason=TrustReason.BY_PERSON)


def revoke_trusted_device(*, user: Any, request: HttpRequest | None, device: TrustedDevice) -> bool:
    """One device asks for the second step again (for the Devices page)."""
    if device.user_id != user.pk:
        return False
    with transaction.atomic():
        revoked = TrustedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=TrustReason.BY_PERSON
        )
        if revoked:
            record_event(
                "account:device:trust_revoke",
                user=user,
                request=request,
                details={"count": 1, "reason": str(TrustReason.BY_PERSON), "device": str(device.public_id)},
            )
    return bool(revoked)
