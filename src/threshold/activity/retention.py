"""How long security events are kept: the pruning of events past their retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from threshold.activity import catalog, registry
from threshold.activity.models import SecurityEvent


@dataclass(frozen=True)
class Pruned:
    sign_in: int
    change: int

    @property
    def total(self) -> int:
        return self.sign_in + self.change


def prune_events(*, now: datetime | None = None, batch_size: int = 1000) -> Pruned:
    """Delete events past their retention period, a batch at a time.

    Sign-in events are kept ``ACTIVITY_RETENTION_DAYS``; everything else (security changes,
    and any type no longer in the catalogue) ``CHANGE_RETENTION_DAYS``. Short batches keep
    each transaction, and the lock it holds, small while sign-ins go on.
    """
    now = now or timezone.now()
    sign_in_codes = catalog.codes(retention=catalog.Retention.SIGN_IN)
    sign_in_cutoff = now - timedelta(days=settings.ACTIVITY_RETENTION_DAYS)
    change_cutoff = now - timedelta(days=settings.CHANGE_RETENTION_DAYS)
    # Organisations with a longer retention (a Premium feature, registered by threshold.orgs)
    # keep their members' sign-ins for their own period instead.
    longer = registry.longer_retention()
    sign_ins = _delete_in_batches(
        SecurityEvent.objects.filter(code__in=sign_in_codes, occurred_at__lt=sign_in_cutoff).exclude(
            user__organization_id__in=list(longer)
        ),
        batch_size,
    )
    for organization_id, days in longer.items():
        sign_ins += _delete_in_batches(
            SecurityEvent.objects.filter(
                code__in=sign_in_codes,
                user__organization_id=organization_id,
                occurred_at__lt=now - timedelta(days=days),
            ),
            batch_size,
        )
    changes = _delete_in_batches(
        SecurityEvent.objects.exclude(code__in=sign_in_codes).filter(occurred_at__lt=change_cutoff),
        batch_size,
    )
    return Pruned(sign_in=sign_ins, change=changes)


def _delete_in_batches(events: QuerySet[SecurityEvent], batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(events.order_by("occurred_at").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            SecurityEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
