"""The answer to "may this account do X?": a value with a reason, never a bare boolean."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """One policy answer.

    ``reason_code`` is stable and machine-readable (``allowed``, ``org_requires_two_step`` …);
    ``locked_by`` names the organisation that decided, so a page can draw the lock
    ("Managed by Contoso"); ``message`` is the translated sentence shown to the person.
    """

    allowed: bool
    reason_code: str = "allowed"
    locked_by: str = ""
    message: str = ""

    @classmethod
    def allow(cls) -> Decision:
        return cls(allowed=True)

    @classmethod
    def deny(cls, reason_code: str, message: str, *, locked_by: str = "") -> Decision:
        return cls(allowed=False, reason_code=reason_code, locked_by=locked_by, message=message)
