"""The record of how a session was proven: one session key, read the same way everywhere."""

from __future__ import annotations

from threshold.verification.sign_in import (
    PROOF_SESSION_KEY,
    SignInProof,
    proof_in,
)


def test_the_record_reads_back_as_written() -> None:
    proof = SignInProof(vouched_by="access_pass", access_pass="pass-id", access_pass_until=1234.5)
    assert proof_in({PROOF_SESSION_KEY: proof.as_session_value()}) == proof


def test_a_session_without_a_record_was_proven_the_usual_way() -> None:
    assert proof_in({}) == SignInProof()
    assert proof_in(None) == SignInProof()


def test_a_session_from_before_the_record_keeps_its_access_pass_limits() -> None:
    """Sessions signed in before the record existed kept three keys; until they expire, they still read."""
    old = {
        "threshold.security_reset_by": "access_pass",
        "threshold.recovery.access_pass": "pass-id",
        "threshold.recovery.access_pass_until": 1234.5,
    }
    assert proof_in(old) == SignInProof(
        vouched_by="access_pass", access_pass="pass-id", access_pass_until=1234.5
    )
