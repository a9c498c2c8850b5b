"""The worker half of "Download your data": building the ZIP and deleting expired exports."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from threshold.activity.services import record_event
from threshold.recovery.models import (
    DataExport,
    ExportStatus,
)
from threshold.recovery.selectors.export import export_sections

logger = logging.getLogger(__name__)


EXPORT_LIFETIME = timedelta(hours=24)


def build_data_export(*, export_id: int) -> bool:
    """Build the ZIP of one export: JSON and CSV of each section, with progress as it goes.

    Claimed with a conditional update, so a task delivered twice builds it once. Expired
    exports of every account are deleted first.
    """
    delete_expired_exports()
    claimed = DataExport.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.BUILDING, progress=0
    )
    if not claimed:
        return False
    export = DataExport.objects.select_related("user").defer("content").get(pk=export_id)
    try:
        content = _build_zip(export)
    except Exception:
        logger.exception("Data export %s could not be built", export_id)
        DataExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED)
        return False
    now = timezone.now()
    with transaction.atomic():
        DataExport.objects.filter(pk=export_id, status=ExportStatus.BUILDING).update(
            status=ExportStatus.READY,
            progress=100,
            content=content,
            size=len(content),
            ready_at=now,
            expires_at=now + EXPORT_LIFETIME,
        )
        record_event(
            "account:export:ready",
            user=export.user,
            details={"export": str(export.public_id), "size": len(content)},
        )
    return True


def _build_zip(export: DataExport) -> bytes:
    sections = export_sections(export.user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(export))
        for done, (name, rows) in enumerate(sections, start=1):
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2, default=_plain, ensure_ascii=False))
            archive.writestr(f"{name}.csv", _csv(rows))
            # Committed as it goes (no surrounding transaction), so the page can show it.
            DataExport.objects.filter(pk=export.pk).update(progress=int(done * 95 / len(sections)))
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: json.dumps(value, default=_plain) if isinstance(value, dict | list) else _cell(value)
                for key, value in row.items()
            }
        )
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # SECURITY: a cell starting with these is run as a formula by spreadsheet programs
        # (CSV injection); an address or device name the person typed must stay text.
        return "'" + value
    return value


def _readme(export: DataExport) -> str:
    with translation.override(getattr(export.user, "locale", "") or None):
        return "\n".join(
            [
                gettext("Your data from Threshold, as of %(date)s.")
                % {"date": timezone.now().strftime("%Y-%m-%d %H:%M UTC")},
                "",
                gettext(
                    "Each part is here twice: as JSON (for programs) and as CSV (for spreadsheets): "
                    "profile, contact_addresses, sign_in_methods, devices and activity."
                ),
                gettext(
                    "Sign-in methods are described, never copied: no password, code or key that "
                    "could sign in to your account is in this file."
                ),
                "",
            ]
        )


def delete_expired_exports(*, now: datetime | None = None) -> int:
    """Delete every export past its 24 hours (and any left unfinished for as long)."""
    now = now or timezone.now()
    deleted, _ = DataExport.objects.filter(
        models.Q(expires_at__lte=now)
        | models.Q(expires_at__isnull=True, requested_at__lte=now - EXPORT_LIFETIME)
    ).delete()
    return deleted
