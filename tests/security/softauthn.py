"""A small software authenticator: what a phone or security key does, in plain Python.

EC P-256 keys from ``cryptography``, CBOR from ``fido2.cbor``, attestation format "none".
It answers the JSON options the portal gives a browser with the JSON a browser would post
back (the shape of webauthn-json / ``PublicKeyCredential.toJSON()``), so tests drive the
same pages and endpoints a person's browser does. It is independent of fido2's server
code, which checks what it makes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor

UP, UV, AT = 0x01, 0x04, 0x40
ES256 = -7


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    discoverable: bool
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """One authenticator holding any number of credentials.

    ``user_verification`` is whether it checks a PIN or biometrics (sets the UV flag);
    ``counts_signatures`` whether it has a signature counter (synced passkeys usually
    don't, and report zero).
    """

    origin: str = "http://localhost"
    user_verification: bool = True
    counts_signatures: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def create(self, options: dict[str, Any], *, discoverable: bool = True) -> dict[str, Any]:
        """Answer ``navigator.credentials.create()``: a new credential, as the browser posts it."""
        public_key = options["publicKey"]
        rp_id = public_key["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in public_key.get("excludeCredentials") or []}
        if any(c.credential_id in excluded for c in self.credentials):
            raise ValueError(
                "InvalidStateError: this authenticator already holds a credential for the account"
            )
        assert any(p["alg"] == ES256 for p in public_key["pubKeyCredParams"])
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(
            credential_id=os.urandom(32),
            key=key,
            rp_id=rp_id,
            user_handle=unb64url(public_key["user"]["id"]),
            discoverable=discoverable,
            sign_count=1 if self.counts_signatures else 0,
        )
        numbers = key.public_key().public_numbers()
        cose_key = {
            1: 2,
            3: ES256,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = (
            bytes(16)  # AAGUID: none, as with attestation "none"
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + cbor.encode(cose_key)
        )
        flags = UP | AT | (UV if self.user_verification else 0)
        auth_data = self._auth_data(rp_id, flags, credential.sign_count) + attested
        client_data = self._client_data("webauthn.create", public_key["challenge"])
        self.credentials.append(credential)
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(
                    cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
                ),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": discoverable}},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        user_verified: bool | None = None,
        sign_count: int | None = None,
        credential: Credential | None = None,
    ) -> dict[str, Any]:
        """Answer ``navigator.credentials.get()``: an assertion, as the browser posts it.

        ``sign_count`` forces the counter (to play a copied key); ``user_verified``
        overrides whether the UV flag is set.
        """
        public_key = options["publicKey"]
        rp_id = public_key.get("rpId") or self.credentials[0].rp_id
        allowed = {unb64url(c["id"]) for c in public_key.get("allowCredentials") or []}
        if credential is None:
            for candidate in self.credentials:
                if candidate.rp_id != rp_id:
                    continue
                if (allowed and candidate.credential_id in allowed) or (
                    not allowed and candidate.discoverable
                ):
                    credential = candidate
                    break
        if credential is None:
            raise ValueError("NotAllowedError: no credential for this site")
        if sign_count is not None:
            credential.sign_count = sign_count
        elif self.counts_signatures:
            credential.sign_count += 1
        verified = self.user_verification if user_verified is None else user_verified
        auth_data = self._auth_data(rp_id, UP | (UV if verified else 0), credential.sign_count)
        client_data = self._client_data("webauthn.get", public_key["challenge"])
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle) if credential.discoverable else None,
            },
            "clientExtensionResults": {},
        }

    @staticmethod
    def _auth_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + sign_count.to_bytes(4, "big")

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()
