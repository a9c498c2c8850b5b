"""Passkeys: the ceremony of sign-in's second step, and what an assertion says.

allauth.mfa runs the ceremonies for adding a passkey, signing in with one alone and
signing in again, through its pages. Sign-in's second step is ours
(threshold.security.stages), so its ceremony is here, on fido2 (the library allauth uses),
with the relying party allauth's adapter names and the credentials allauth stores. Nothing
here writes to the database: the services decide what an assertion means.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    RegistrationResponse,
    UserVerificationRequirement,
)

STEP_SESSION_KEY = "threshold.security.passkey_step"
CHOICE_SESSION_KEY = "threshold.security.new_passkey"
# A challenge is good for as long as a person plausibly takes to touch their key.
STEP_SECONDS = 5 * 60


def _server() -> Fido2Server:
    """fido2's relying party for this site.

    SECURITY: fido2's own origin check is kept: the assertion must come from an https
    origin on this relying party's host (or http://localhost while developing), so a
    look-alike site cannot relay a person's passkey.
    """
    rp = PublicKeyCredentialRpEntity(**get_mfa_adapter().get_public_key_credential_rp_entity())
    return Fido2Server(rp)


def passkeys_of(user: Any) -> list[Authenticator]:
    return list(Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.WEBAUTHN))


def _credential_data(authenticator: Authenticator) -> AttestedCredentialData | None:
    data = authenticator.wrap().authenticator_data.credential_data
    return data if data else None


def begin_second_step(request: HttpRequest, user: Any) -> dict[str, Any]:
    """Request options naming this account's passkeys; the challenge is kept in the session."""
    credentials = [c for c in map(_credential_data, passkeys_of(user)) if c is not None]
    options, state = _server().authenticate_begin(
        credentials=credentials,
        user_verification=UserVerificationRequirement(mfa_settings.WEBAUTHN_USER_VERIFICATION),
    )
    request.session[STEP_SESSION_KEY] = {"user": str(user.pk), "state": dict(state), "at": time.time()}
    return {"request_options": dict(options)}


def complete_second_step(
    request: HttpRequest, user: Any, credential: Any
) -> tuple[Authenticator, AuthenticationResponse] | None:
    """The passkey that signed this session's challenge, or None.

    SECURITY: the challenge is taken out of the session before it is checked, so one
    challenge answers one try; it must belong to this account and be recent.
    """
    kept = request.session.pop(STEP_SESSION_KEY, None)
    if (
        not isinstance(kept, dict)
        or kept.get("user") != str(user.pk)
        or time.time() - float(kept.get("at", 0)) > STEP_SECONDS
    ):
        return None
    response = parse_assertion(credential)
    if response is None:
        return None
    passkeys = passkeys_of(user)
    credentials = [c for c in map(_credential_data, passkeys) if c is not None]
    try:
        used = _server().authenticate_complete(kept["state"], credentials, credential)
    except (ValueError, TypeError, KeyError):
        return None
    for authenticator in passkeys:
        data = _credential_data(authenticator)
        if data is not None and data.credential_id == used.credential_id:
            return authenticator, response
    return None


def parse_assertion(credential: Any) -> AuthenticationResponse | None:
    """The browser's answer to a sign-in challenge, or None when it is not one."""
    if not isinstance(credential, dict):
        return None
    try:
        return AuthenticationResponse.from_dict(credential)
    except (ValueError, TypeError, KeyError):
        return None


def signature_counter(response: AuthenticationResponse) -> int:
    return int(response.response.authenticator_data.counter)


def user_verified(response: AuthenticationResponse) -> bool:
    """Whether the authenticator checked who was holding it (PIN, fingerprint, face)."""
    return bool(response.response.authenticator_data.is_user_verified())


# --- Adding a passkey ---------------------------------------------------------------------


def registration_user_verified(credential: Any) -> bool | None:
    """Whether a new credential's device checked who was holding it; None if it is no credential."""
    if not isinstance(credential, dict):
        return None
    try:
        response = RegistrationResponse.from_dict(credential)
    except (ValueError, TypeError, KeyError):
        return None
    return bool(response.response.attestation_object.auth_data.is_user_verified())


def remember_choice(session: Any, *, passwordless: bool) -> None:
    """What the person chose on the add page, for when allauth reports the new passkey."""
    session[CHOICE_SESSION_KEY] = {"passwordless": passwordless}


def take_choice(session: Any) -> bool:
    kept = session.pop(CHOICE_SESSION_KEY, None) if session is not None else None
    return bool(isinstance(kept, dict) and kept.get("passwordless"))


def registration_facts(authenticator: Authenticator, *, chose_passwordless: bool) -> tuple[bool, int]:
    """Whether a new passkey can sign in on its own, and its signature counter.

    It can when the authenticator verified the person (PIN or biometrics) and keeps the
    credential itself (discoverable). Browsers report the latter as ``credProps.rk``; one
    that does not report it was asked for a discoverable credential when the person chose
    a passkey, and would have failed otherwise.
    """
    wrapped = authenticator.wrap()
    data = wrapped.authenticator_data
    discoverable = wrapped.is_passwordless
    if discoverable is None:
        discoverable = chose_passwordless
    return bool(data.is_user_verified() and discoverable), int(data.counter)
