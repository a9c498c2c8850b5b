"""Download your data: asking for an export and downloading it (the worker builds it in ``export_archive``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from threshold.accounts.models import User
from threshold.activity.services import record_event
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import tasks
from threshold.recovery.models import (
    DataExport,
    ExportStatus,
)
from threshold.recovery.selectors.export import downloadable_export
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


class ExportNotFound(Exception):
    """Not a ready, unexpired export of this account: answer 404."""


def request_data_export(*, user: Any, request: HttpRequest | None) -> DataExport:
    """Ask for a copy of the account's data; it is built in the background.

    SECURITY: needs a fresh sign-in: the copy holds every address and the whole sign-in
    history, which a session left open on a shared computer must not hand out. Asking
    again while one is being built returns that one.
    """
    policies.require(user, Action.DATA_EXPORT, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
        export = (
            DataExport.objects.filter(user=user, status__in=[ExportStatus.PENDING, ExportStatus.BUILDING])
            .defer("content")
            .first()
        )
        if export is not None:
            return export
        export = DataExport.objects.create(user=user)
        record_event(
            "account:export:request", user=user, request=request, details={"export": str(export.public_id)}
        )
        export_id = export.pk
        transaction.on_commit(lambda: _queue_export(export_id))
    return export


def _queue_export(export_id: int) -> None:
    tasks.build_data_export.enqueue(export_id)


def download_data_export(*, user: Any, request: HttpRequest | None, public_id: Any) -> DataExport:
    """The ready ZIP of one of this account's exports, recorded as downloaded.

    SECURITY: only the account that asked for it, only within 24 hours, and only after a
    fresh sign-in; anything else is answered exactly like an export that does not exist.
    """
    ensure_fresh_sign_in(request=request, user=user)
    export = downloadable_export(user, public_id)
    if export is None:
        raise ExportNotFound(public_id)
    record_event(
        "account:export:download", user=user, request=request, details={"export": str(export.public_id)}
    )
    return export
