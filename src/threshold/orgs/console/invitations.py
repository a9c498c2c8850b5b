"""Inviting people from the console: one by email, or many from a CSV file.

Both run in the console's skeleton (``orgs.console.actions``) and hand each person to
``orgs.services.invite_member``, which creates the work account, records ``org:member:add``
and mails the set-up link in a transaction of its own.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils.translation import gettext as _

from threshold.accounts.models import User
from threshold.orgs.console.actions import Done, console_action
from threshold.orgs.models import Membership, Organization, Role
from threshold.orgs.policies import ConsoleAction
from threshold.orgs.services import invite_member

MAX_IMPORT_ROWS = 500
MAX_IMPORT_BYTES = 512 * 1024


@console_action(ConsoleAction.MEMBER_INVITE)
def invite_from_console(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    email: str,
    given_name: str = "",
    family_name: str = "",
    role: str = Role.MEMBER,
) -> Done[User]:
    """Invite one person by email (invite_member creates the work account and mails the link)."""
    return Done(
        invite_member(
            organization=organization,
            actor=actor,
            request=request,
            email=email,
            given_name=given_name,
            family_name=family_name,
            role=role,
        )
    )


class ImportRefused(Exception):
    """The file itself could not be read; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class ImportRow:
    """One line of an uploaded file and what became of it."""

    line: int
    email: str
    accepted: bool
    reason: str = ""


def _role_from_cell(value: str) -> str | None:
    cleaned = value.strip().lower().replace("-", " ").replace("_", " ")
    if not cleaned:
        return Role.MEMBER
    for role in Role:
        if cleaned in {role.value.replace("_", " "), str(role.label).lower()}:
            return role.value
    return None


@console_action(ConsoleAction.MEMBER_INVITE)
def import_members(
    *, organization: Organization, actor: Any, request: HttpRequest | None, data: bytes
) -> Done[list[ImportRow]]:
    """Invite everyone in a CSV file (email, given_name, family_name, role); a row per line.

    Each row is checked (address, duplicate in the file, already here, domain verified,
    known role, at most ``MAX_IMPORT_ROWS``) and, if it passes, invited in a transaction of
    its own with invite_member: a refused row leaves nothing behind, and one bad row never
    stops the others. The file itself is refused whole when it is too large, not text, or
    has no ``email`` column.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            _("The file is larger than %(size)d KB. Split it into smaller files.")
            % {"size": MAX_IMPORT_BYTES // 1024}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            _("The file isn't UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
        if "email" not in fields:
            raise ImportRefused(
                _(
                    "The first line must name the columns, with at least “email” (and optionally given_name, family_name, role)."
                )
            )
        reader.fieldnames = fields
        # Read whole before anyone is invited, so that a line that cannot be read leaves nothing behind.
        lines = [(reader.line_num, raw) for raw in reader]
    except csv.Error:
        # SECURITY: a field past the csv module's limit (128 KB) raised out of the view as a 500.
        raise ImportRefused(
            _(
                "Line %(line)d can't be read: a field is far too long or its quotes don't match. "
                "Correct it and upload the file again."
            )
            % {"line": reader.line_num + 1}  # the line it was reading: after the last one read whole
        ) from None
    domains = {str(d).lower() for d in organization.verified_domains or []}
    seen: set[str] = set()
    report: list[ImportRow] = []
    count = 0
    for line, raw in lines:
        row = {k: (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items() if k}
        email = row.get("email", "")
        if not any(row.values()):
            continue  # an empty line
        count += 1
        if count > MAX_IMPORT_ROWS:
            report.append(
                ImportRow(
                    line,
                    email,
                    False,
                    _("Too many rows: a file can hold %(max)d people.") % {"max": MAX_IMPORT_ROWS},
                )
            )
            continue
        normalized = email.lower()
        try:
            validate_email(normalized)
        except ValidationError:
            report.append(ImportRow(line, email, False, _("Not an email address.")))
            continue
        if normalized in seen:
            report.append(
                ImportRow(line, email, False, _("This address is already on an earlier line of the file."))
            )
            continue
        seen.add(normalized)
        role = _role_from_cell(row.get("role", ""))
        if role is None:
            report.append(
                ImportRow(line, email, False, _("Unknown role. Use member, helpdesk admin or global admin."))
            )
            continue
        if normalized.rpartition("@")[2] not in domains:
            report.append(
                ImportRow(
                    line,
                    email,
                    False,
                    _("The domain isn't one of %(org)s's verified domains.") % {"org": organization.name},
                )
            )
            continue
        if Membership.objects.filter(organization=organization, user__email__iexact=normalized).exists():
            report.append(
                ImportRow(line, email, False, _("Already a member of %(org)s.") % {"org": organization.name})
            )
            continue
        given, family = row.get("given_name", ""), row.get("family_name", "")
        if len(given) > 80 or len(family) > 80:
            report.append(ImportRow(line, email, False, _("A name is longer than 80 characters.")))
            continue
        try:
            invite_member(
                organization=organization,
                actor=actor,
                request=request,
                email=normalized,
                given_name=given,
                family_name=family,
                role=role,
            )
        except ValidationError as exc:
            report.append(ImportRow(line, email, False, " ".join(str(m) for m in exc.messages)))
            continue
        report.append(ImportRow(line, email, True))
    return Done(report)
