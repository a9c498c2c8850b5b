"""The answer to "may this account do X?": a value with a reason, never a bare boolean."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


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

    @property
    def sentence(self) -> str:
        """The refusal as the person reads it: "Managed by Contoso: <reason>" when an organisation decided."""
        if self.locked_by:
            return _("Managed by %(org)s: %(reason)s") % {"org": self.locked_by, "reason": self.message}
        return str(self.message or _("Your organization does not allow this change."))
