"""Closing an account and exporting its data.

The closure window itself lives on the account row (``User.closure_requested_at``,
``closes_at``, ``closed_at``), so every request can see it without another query.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# How long a closing account can still be reopened; the person chooses.
CLOSURE_DAYS = (30, 60)


class ClosureReason(models.TextChoices):
    """Why the person is leaving: a choice, not free text, because it is kept in the
    security event after the personal data is deleted."""

    NOT_NEEDED = "not_needed", _("I don't need it any more")
    OTHER_ACCOUNT = "other_account", _("I have another account")
    PRIVACY = "privacy", _("I'm worried about my privacy")
    TOO_MANY_EMAILS = "too_many_emails", _("I get too many emails")
    OTHER = "other", _("Something else")
